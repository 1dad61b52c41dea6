import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseRuleFile, SigmaEngine } from "../../src/sigma/index.js";

function engineOf(detection: string): SigmaEngine {
  const yaml = `title: t\nid: r\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n${detection}\n`;
  const { rules, errors } = parseRuleFile("rule.yml", yaml);
  assert.deepEqual(errors, []);
  return new SigmaEngine(rules);
}

const fired = (engine: SigmaEngine, record: object) =>
  engine.offer({ eventID: "e", eventTime: "2026-01-01T00:00:00Z", ...record }).length;

describe("rules indexed by eventName", () => {
  it("index literal eventNames (in an AND, a list, every branch of an OR) and still match case-insensitively", () => {
    const engine = engineOf(
      "  a: {eventName: [StopLogging, DeleteTrail], eventSource: cloudtrail.amazonaws.com}\n  condition: a",
    );
    assert.equal(engine.indexedRuleCount, 1);
    assert.equal(fired(engine, { eventName: "stoplogging", eventSource: "cloudtrail.amazonaws.com" }), 1);
    assert.equal(fired(engine, { eventName: "DeleteTrail", eventSource: "cloudtrail.amazonaws.com" }), 1);
    assert.equal(fired(engine, { eventName: "StartLogging", eventSource: "cloudtrail.amazonaws.com" }), 0);
    // A record whose eventName is a list (or absent) meets every rule, as the engine reads it.
    assert.equal(fired(engine, { eventName: ["x", "StopLogging"], eventSource: "cloudtrail.amazonaws.com" }), 1);
  });

  it("leave unindexed the rules whose eventName is a wildcard, negated, or in only one branch of an OR", () => {
    for (const detection of [
      "  a: {eventName|startswith: List}\n  condition: a",
      "  a: {eventName: StopLogging}\n  condition: not a",
      "  a: {eventName: StopLogging}\n  b: {userAgent: x}\n  condition: a or b",
    ])
      assert.equal(engineOf(detection).indexedRuleCount, 0, detection);
    const negated = engineOf("  a: {eventName: StopLogging}\n  condition: not a");
    assert.equal(fired(negated, { eventName: "DeleteTrail" }), 1);
    const either = engineOf("  a: {eventName: StopLogging}\n  b: {userAgent: x}\n  condition: a or b");
    assert.equal(fired(either, { eventName: "DeleteTrail", userAgent: "x" }), 1);
  });
});

describe("regular expressions with a required literal", () => {
  it("match exactly as the expression does", () => {
    const engine = engineOf("  a: {userIdentity.arn|re: '.+:assumed-role/aws:.+'}\n  condition: a");
    assert.equal(fired(engine, { userIdentity: { arn: "arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1" } }), 1);
    assert.equal(fired(engine, { userIdentity: { arn: "arn:aws:sts::1:assumed-role/AWS:ec2" } }), 0);
    const repeated = engineOf("  a: {userAgent|re: 'ab+cd*e'}\n  condition: a");
    assert.equal(fired(repeated, { userAgent: "xabbbce" }), 1);
    assert.equal(fired(repeated, { userAgent: "abcdde" }), 1);
    assert.equal(fired(repeated, { userAgent: "ace" }), 0);
  });
});
