import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ServiceModels } from "../../src/capture/protocols/service-models.js";
import { OMIT_MEMBER, rewriteByShape, type ModelMember } from "../../src/capture/protocols/shape-walk.js";

const models = new ServiceModels();
const modelOf = (service: string) => models.candidates(service)[0]!;
const hideSensitive = (value: unknown, member: ModelMember): unknown =>
  member.ref.sensitive === true || member.shape.sensitive === true ? "HIDDEN" : value;

describe("rewriteByShape: decoded values walked with their model shapes", () => {
  it("finds a member by its lower-first model name and leaves unclaimed keys alone", () => {
    const ssm = modelOf("ssm");
    const input = { name: "/db/password", value: "TopS3cret!", type: "SecureString", extra: { value: "x" } };
    const out = rewriteByShape(ssm, ssm.operations["PutParameter"]?.input, input, hideSensitive);
    assert.deepEqual(out, { name: "/db/password", value: "HIDDEN", type: "SecureString", extra: { value: "x" } });
    assert.equal(input.value, "TopS3cret!", "the input is not mutated");
  });

  it("walks nested structures and lists; unchanged values keep their identity", () => {
    const ssm = modelOf("ssm");
    const untouched = { name: "doc" };
    assert.equal(rewriteByShape(ssm, ssm.operations["DeleteDocument"]?.input, untouched, hideSensitive), untouched);
    const command = { command: { commandId: "c-1", parameters: { commands: ["echo hi"] } } };
    const out = rewriteByShape(ssm, ssm.operations["SendCommand"]?.output, command, hideSensitive);
    assert.deepEqual(out, { command: { commandId: "c-1", parameters: "HIDDEN" } });
  });

  it("matches EC2's wire names and walks EC2's {items: [...]} lists", () => {
    const ec2 = modelOf("ec2");
    const seen: string[] = [];
    const record = (value: unknown, member: ModelMember): unknown => {
      seen.push(member.name);
      return value;
    };
    const response = { instancesSet: { items: [{ instanceId: "i-1", currentState: { name: "shutting-down" } }] } };
    rewriteByShape(ec2, ec2.operations["TerminateInstances"]?.output, response, record);
    assert.deepEqual(seen, ["TerminatingInstances", "InstanceId", "CurrentState", "Name"]);
  });

  it("drops a member the rewrite omits", () => {
    const sts = modelOf("sts");
    const response = { credentials: { accessKeyId: "ASIA1", secretAccessKey: "s", sessionToken: "t" } };
    const omitSecret = (value: unknown, member: ModelMember): unknown =>
      member.name === "SecretAccessKey" ? OMIT_MEMBER : value;
    assert.deepEqual(rewriteByShape(sts, sts.operations["AssumeRole"]?.output, response, omitSecret), {
      credentials: { accessKeyId: "ASIA1", sessionToken: "t" },
    });
  });
});
