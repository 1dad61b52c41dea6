import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CompiledRules } from "../../../src/consumers/event-rules/compiled-rules.js";
import type { RuleState } from "../../../src/event-patterns/index.js";
import type { RuleWithTargets } from "../../../src/stores/event-rules/index.js";

function active(
  name: string,
  pattern: unknown,
  accountId = "111122223333",
  state: RuleState = "ENABLED",
): RuleWithTargets {
  return {
    rule: {
      arn: `arn:aws:events:us-east-1:${accountId}:rule/${name}`,
      name,
      accountId,
      region: "us-east-1",
      eventPattern: JSON.stringify(pattern),
      state,
      createdAtMs: 0,
      updatedAtMs: 0,
      generation: 1,
    },
    targets: [{ id: "1", arn: `arn:aws:sns:us-east-1:${accountId}:t` }],
  };
}

async function compiled(rules: RuleWithTargets[]): Promise<CompiledRules> {
  const errors: unknown[] = [];
  const holder = new CompiledRules(
    { revision: () => Promise.resolve(1), activeRules: () => Promise.resolve(rules) },
    (error) => errors.push(error),
  );
  await holder.refresh();
  assert.deepEqual(errors, []);
  return holder;
}

describe("CompiledRules offers a record only the rules of its scope and source", () => {
  it("indexes rules by the sources they name, and offers rules naming none every record", async () => {
    const rules = await compiled([
      active("iam", { source: ["aws.iam"] }),
      active("any-before", { "detail-type": ["AWS API Call via CloudTrail"] }),
      active("s3-or-ec2", { source: ["aws.s3", "aws.ec2", "aws.s3"] }),
      active("prefix", { source: [{ prefix: "aws.e" }] }),
      active("or", { $or: [{ source: ["aws.iam"] }, { detail: { eventName: ["x"] } }] }),
      active("iam-2", { source: ["aws.iam"], detail: { eventName: ["CreateUser"] } }),
      active("other-account", { source: ["aws.iam"] }, "444455556666"),
    ]);
    const names = (source: string) =>
      rules
        .inScope("111122223333", "us-east-1")!
        .forSource(source)
        .map(({ rule }) => rule.name)
        .sort();
    assert.deepEqual(names("aws.iam"), ["any-before", "iam", "iam-2", "or", "prefix"]);
    assert.deepEqual(names("aws.s3"), ["any-before", "or", "prefix", "s3-or-ec2"]);
    assert.deepEqual(names("aws.ec2"), ["any-before", "or", "prefix", "s3-or-ec2"]);
    assert.deepEqual(names("aws.sts"), ["any-before", "or", "prefix"]);
    assert.equal(rules.inScope("111122223333", "eu-west-1"), undefined);
    assert.deepEqual(
      rules
        .inScope("444455556666", "us-east-1")!
        .forSource("aws.iam")
        .map(({ rule }) => rule.name),
      ["other-account"],
    );
  });
});
