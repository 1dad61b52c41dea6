import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { InvocationOutcome } from "../../../src/consumers/event-rules/api-destination-types.js";
import { RuleDelivery } from "../../../src/consumers/event-rules/rule-delivery.js";
import type { TargetSender } from "../../../src/consumers/event-rules/target-sender.js";
import type { EventRuleStore, EventTarget, RuleWithTargets } from "../../../src/stores/event-rules/index.js";
import { openSqliteRuleDeliveryStore, type RuleDeliveryStore } from "../../../src/stores/rule-deliveries/index.js";
import { openSqliteSigmaStore, type NewSigmaMatch, type SigmaStore } from "../../../src/stores/sigma/index.js";
import { MemoryJournal } from "../../helpers/memory-journal.js";
import { pollUntil } from "../../helpers/poll.js";

const ACCOUNT = "111122223333";
const RULE_ARN = `arn:aws:events:us-east-1:${ACCOUNT}:rule/tampering`;
const DESTINATION = `arn:aws:events:us-east-1:${ACCOUNT}:api-destination/pager/0b1c`;

/** The rules the delivery sees; a test changes them as PutRule/DeleteRule would (the revision moves). */
class Rules implements Pick<EventRuleStore, "revision" | "activeRules"> {
  private version = 1;
  constructor(private rules: RuleWithTargets[]) {}
  set(rules: RuleWithTargets[]): void {
    this.rules = rules;
    this.version++;
  }
  async revision(): Promise<number> {
    return this.version;
  }
  async activeRules(): Promise<RuleWithTargets[]> {
    return this.rules;
  }
}

function tampering(target: Partial<EventTarget> = {}, rule: Partial<RuleWithTargets["rule"]> = {}): RuleWithTargets {
  return {
    rule: {
      arn: RULE_ARN,
      name: "tampering",
      accountId: ACCOUNT,
      region: "us-east-1",
      eventPattern: JSON.stringify({ detail: { eventName: ["StopLogging"] } }),
      state: "ENABLED",
      createdAtMs: 0,
      ...rule,
      updatedAtMs: 0,
      generation: 1,
    },
    targets: [{ id: "1", arn: DESTINATION, ...target }],
  };
}

/** A rule on the Sigma matches of high level, as `aws events put-rule` would store it. */
function onSigmaMatches(createdAtMs: number): RuleWithTargets {
  const pattern = { source: ["cairn.sigma"], "detail-type": ["Sigma Rule Match"], detail: { level: ["high"] } };
  return tampering(
    {
      inputTransformer: {
        inputPathsMap: { r: "$.detail.ruleId", e: "$.detail.record.eventID" },
        inputTemplate: '"<r> <e>"',
      },
    },
    { arn: `${RULE_ARN}-sigma`, name: "sigma", eventPattern: JSON.stringify(pattern), createdAtMs },
  );
}

function sigmaMatch(seq: number, eventID: string, level: string, matchedAtMs: number): NewSigmaMatch {
  return {
    ...{ accountId: ACCOUNT, ruleId: `rule-${level}`, title: "Trail stopped", level, kind: "detection" },
    ...{ eventID, eventTime: "2026-12-07T10:00:00Z", events: [{ eventID, eventTime: "2026-12-07T10:00:00Z" }] },
    ...{ matchedAtMs, seq },
  };
}

function record(eventName: string, eventID: string): string {
  return JSON.stringify({
    eventVersion: "1.08",
    userIdentity: { type: "IAMUser", accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/alice` },
    eventTime: "2026-12-07T10:00:00Z",
    eventSource: "cloudtrail.amazonaws.com",
    eventName,
    awsRegion: "us-east-1",
    sourceIPAddress: "192.0.2.1",
    userAgent: "aws-cli/1",
    eventID,
    readOnly: false,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: "Management",
  });
}

/** Answers each send with the next scripted outcome (the last one repeats), and remembers what it sent. */
class ScriptedSender implements TargetSender {
  readonly sent: Array<{ target: string; body: string }> = [];
  constructor(private readonly outcomes: InvocationOutcome[]) {}
  async send(target: EventTarget, body: string): Promise<InvocationOutcome> {
    this.sent.push({ target: target.id, body });
    return this.outcomes.length > 1 ? this.outcomes.shift()! : this.outcomes[0]!;
  }
}

describe("EventBridge rule delivery (matcher, queue and dispatcher on a real SQLite queue)", () => {
  let dir: string;
  let deliveries: RuleDeliveryStore;
  let journal: MemoryJournal;
  let sigma: SigmaStore;
  let running: RuleDelivery | undefined;
  const nowMs = { value: Date.parse("2026-12-07T10:00:00Z") };
  const errors: unknown[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cairn-rule-delivery-"));
    deliveries = openSqliteRuleDeliveryStore(join(dir, "rule-deliveries.db"));
    journal = new MemoryJournal();
    sigma = openSqliteSigmaStore(join(dir, "sigma.db"));
    errors.length = 0;
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await deliveries.close();
    await sigma.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(rules: Rules, sender: TargetSender): Promise<void> {
    running = new RuleDelivery({
      journal,
      rules,
      deliveries,
      sender,
      quarantine: { add: async () => assert.fail("nothing is quarantined here") },
      sigmaMatches: sigma,
      region: "us-east-1",
      clock: { nowMs: () => nowMs.value },
      report: (error) => errors.push(error),
    });
    await running.start();
  }

  it("sends a matching record once, with the transformed input, and nothing for the others", async () => {
    const sender = new ScriptedSender([{ kind: "delivered", httpStatus: 200 }]);
    await start(new Rules([tampering({ inputPath: "$.detail.eventID" })]), sender);
    await journal.append([{ json: record("CreateTrail", "a") }, { json: record("StopLogging", "b") }]);
    await pollUntil(async () => sender.sent.length === 1 && (await deliveries.queuedCount()) === 0, {
      message: "one delivery, settled",
    });
    assert.deepEqual(sender.sent, [{ target: "1", body: '"b"' }]);
    assert.equal(await deliveries.cursor("journal"), 2);
  });

  it("starts again after a stop (a cluster node that lost and regained the lease) and goes on from its cursor", async () => {
    const sender = new ScriptedSender([{ kind: "delivered", httpStatus: 200 }]);
    await start(new Rules([tampering({ inputPath: "$.detail.eventID" })]), sender);
    await journal.append([{ json: record("StopLogging", "first") }]);
    await pollUntil(() => sender.sent.length === 1, { message: "the first delivery" });
    await running!.stop();
    await journal.append([{ json: record("StopLogging", "second") }]);
    await running!.start();
    await pollUntil(() => sender.sent.length === 2, { message: "the second delivery after the restart" });
    assert.deepEqual(
      sender.sent.map((sent) => sent.body),
      ['"first"', '"second"'],
    );
  });

  it("routes live Sigma matches as Sigma Rule Match events, each once, to the rules made before them", async () => {
    const sender = new ScriptedSender([{ kind: "delivered", httpStatus: 200 }]);
    const rules = new Rules([tampering(), onSigmaMatches(nowMs.value)]);
    await start(rules, sender);
    await journal.append([{ json: record("StopLogging", "f") }, { json: record("DeleteTrail", "g") }]);
    await sigma.commit([sigmaMatch(1, "f", "high", nowMs.value), sigmaMatch(2, "g", "low", nowMs.value)], 2);
    await pollUntil(() => sender.sent.length === 2, { message: "the journal delivery and the high match's" });
    const [routed, fromJournal] = [...sender.sent].sort((x, y) => x.body.length - y.body.length);
    assert.equal(routed!.body, '"rule-high f"', "the match's event, with its record in full");
    const envelope = JSON.parse(fromJournal!.body) as { source: string; detail: { eventID: string } };
    assert.deepEqual([envelope.source, envelope.detail.eventID], ["aws.cloudtrail", "f"], "the record's own event");

    // A restart does not route a match again; a match made before its rule existed goes nowhere.
    await running!.stop();
    rules.set([tampering(), onSigmaMatches(nowMs.value + 1)]);
    await journal.append([{ json: record("DeleteTrail", "h") }, { json: record("DeleteTrail", "i") }]);
    await sigma.commit([sigmaMatch(3, "h", "high", nowMs.value)], 3);
    await running!.start();
    await sigma.commit([sigmaMatch(4, "i", "high", nowMs.value + 5)], 4);
    await pollUntil(() => sender.sent.length === 3, { message: "the match made after the rule" });
    assert.equal(sender.sent[2]!.body, '"rule-high i"');
    await pollUntil(async () => (await deliveries.queuedCount()) === 0, { message: "all settled" });
    assert.equal(await deliveries.cursor("sigma"), 4);
    assert.equal(sender.sent.length, 3);
    assert.deepEqual(errors, []);
  });

  it("reschedules a retryable failure on the target's policy and gives up when it runs out", async () => {
    const sender = new ScriptedSender([{ kind: "retryable", httpStatus: 503, error: "HTTP 503" }]);
    const rules = new Rules([tampering({ retryPolicy: { maximumRetryAttempts: 1 } })]);
    await start(rules, sender);
    await journal.append([{ json: record("StopLogging", "c") }]);
    const queued = await pollUntil(
      async () =>
        (await deliveries.due(Number.MAX_SAFE_INTEGER, 1))[0]?.attemptsMade === 1 &&
        (await deliveries.due(Number.MAX_SAFE_INTEGER, 1))[0],
      {
        message: "the first attempt recorded",
      },
    );
    assert.equal(queued.lastHttpStatus, 503);
    assert.ok(queued.nextAttemptAtMs > nowMs.value, "the retry waits");
    nowMs.value = queued.nextAttemptAtMs;
    const failures = await pollUntil(
      async () => {
        const listed = await deliveries.listFailures(ACCOUNT, { limit: 10 });
        return listed.length > 0 ? listed : undefined;
      },
      { timeoutMs: 10_000, message: "the failure kept after the one retry" },
    );
    assert.equal(failures[0]!.reason, "retry-attempts-exhausted");
    assert.equal(failures[0]!.attempts, 2);
    assert.equal(failures[0]!.recordEventId, "c");
    assert.equal(await deliveries.queuedCount(), 0);
  });

  it("keeps an input-transform failure without sending, and drops the queue of a rule deleted meanwhile", async () => {
    const sender = new ScriptedSender([{ kind: "retryable", error: "ECONNREFUSED" }]);
    const broken = tampering({
      inputTransformer: { inputPathsMap: { n: "$.detail.eventName" }, inputTemplate: '{"a": <n> <n>}' },
    });
    const rules = new Rules([broken]);
    await start(rules, sender);
    await journal.append([{ json: record("StopLogging", "d") }]);
    const failures = await pollUntil(
      async () => {
        const listed = await deliveries.listFailures(ACCOUNT, { limit: 10 });
        return listed.length > 0 ? listed : undefined;
      },
      { message: "the transform failure kept" },
    );
    assert.equal(failures[0]!.reason, "input-transform-failed");
    assert.equal(sender.sent.length, 0);

    rules.set([tampering()]);
    await journal.append([{ json: record("StopLogging", "e") }]);
    await pollUntil(() => sender.sent.length === 1, { message: "a first attempt that fails" });
    rules.set([]);
    nowMs.value += 3_600_000;
    await pollUntil(async () => (await deliveries.queuedCount()) === 0, {
      message: "the deleted rule's queue dropped",
    });
    assert.equal(sender.sent.length, 1, "nothing sent for a rule that no longer exists");
    assert.equal((await deliveries.listFailures(ACCOUNT, { limit: 10 })).length, 1, "and no failure kept for it");
  });
});
