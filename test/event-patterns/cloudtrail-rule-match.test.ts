import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  asksForDataEvents,
  compileEventPattern,
  ENVELOPE_BYTES_MAX,
  exactStringsOf,
  offerCloudTrailRecord,
  offerPreparedRecord,
  prepareCloudTrailRecord,
  type CloudTrailRule,
  type RuleState,
} from "../../src/event-patterns/index.js";
import type { CloudTrailRecord } from "../../src/model/record.js";

function record(overrides: Partial<CloudTrailRecord>): CloudTrailRecord {
  return {
    eventVersion: "1.11",
    userIdentity: { type: "IAMUser", accountId: "111122223333", arn: "arn:aws:iam::111122223333:user/alice" },
    eventTime: "2026-12-01T10:00:00Z",
    eventSource: "cloudtrail.amazonaws.com",
    eventName: "StopLogging",
    awsRegion: "us-east-1",
    requestParameters: { name: "audit" },
    responseElements: null,
    eventID: "5b1e9a0e-0000-4000-8000-000000000001",
    readOnly: false,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: "111122223333",
    eventCategory: "Management",
    ...overrides,
  };
}

function rule(state: RuleState, pattern: string): CloudTrailRule {
  return { state, pattern: compileEventPattern(pattern) };
}

const ANY_CLOUDTRAIL_CALL = '{"detail-type": ["AWS API Call via CloudTrail"]}';
const DESCRIBE_TRAILS = record({ eventName: "DescribeTrails", readOnly: true, requestParameters: null });

describe("offering CloudTrail records to rules (spec §9.1)", () => {
  it("a mutating call reaches an enabled rule, matched or not by its pattern", () => {
    const decision = offerCloudTrailRecord(record({}), rule("ENABLED", '{"detail": {"eventName": ["StopLogging"]}}'));
    assert.ok(decision.offered);
    assert.equal(decision.matched, true);
    assert.equal(decision.envelope["detail-type"], "AWS API Call via CloudTrail");
    assert.equal(decision.envelope.source, "aws.cloudtrail");
    const other = offerCloudTrailRecord(record({}), rule("ENABLED", '{"detail": {"eventName": ["DeleteTrail"]}}'));
    assert.deepEqual(other.offered && other.matched, false);
  });

  it("a disabled rule is offered nothing", () => {
    assert.deepEqual(offerCloudTrailRecord(record({}), rule("DISABLED", ANY_CLOUDTRAIL_CALL)), {
      offered: false,
      reason: "rule-disabled",
    });
  });

  it("Get/List/Describe calls reach only rules in ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", () => {
    assert.deepEqual(offerCloudTrailRecord(DESCRIBE_TRAILS, rule("ENABLED", ANY_CLOUDTRAIL_CALL)), {
      offered: false,
      reason: "read-only-management-event",
    });
    const all = offerCloudTrailRecord(
      DESCRIBE_TRAILS,
      rule("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", ANY_CLOUDTRAIL_CALL),
    );
    assert.ok(all.offered && all.matched);
    const listTags = record({ eventName: "ListTags", readOnly: true });
    assert.equal(offerCloudTrailRecord(listTags, rule("ENABLED", ANY_CLOUDTRAIL_CALL)).offered, false);
  });

  it("STS GetSessionToken and GetFederationToken count as changes, though named Get…", () => {
    for (const eventName of ["GetSessionToken", "GetFederationToken"]) {
      const sts = record({ eventSource: "sts.amazonaws.com", eventName, readOnly: true });
      const decision = offerCloudTrailRecord(sts, rule("ENABLED", '{"source": ["aws.sts"]}'));
      assert.ok(decision.offered && decision.matched, eventName);
    }
    const callerIdentity = record({ eventSource: "sts.amazonaws.com", eventName: "GetCallerIdentity", readOnly: true });
    assert.equal(offerCloudTrailRecord(callerIdentity, rule("ENABLED", '{"source": ["aws.sts"]}')).offered, false);
  });

  it("read-only calls not named Get/List/Describe were always delivered, to ENABLED rules too", () => {
    const testPattern = record({ eventSource: "events.amazonaws.com", eventName: "TestEventPattern", readOnly: true });
    const decision = offerCloudTrailRecord(testPattern, rule("ENABLED", '{"source": ["aws.events"]}'));
    assert.ok(decision.offered && decision.matched);
  });

  it("Insights records are offered as 'AWS Insight via CloudTrail' with source aws.cloudtrail", () => {
    const insight = record({
      eventType: "AwsCloudTrailInsight",
      eventCategory: "Insight",
      eventSource: undefined as unknown as string,
      eventName: undefined as unknown as string,
      readOnly: undefined,
      insightDetails: { state: "Start", eventSource: "iam.amazonaws.com", eventName: "CreateUser" },
    });
    const decision = offerCloudTrailRecord(
      insight,
      rule("ENABLED", '{"source": ["aws.cloudtrail"], "detail-type": ["AWS Insight via CloudTrail"]}'),
    );
    assert.ok(decision.offered && decision.matched);
  });

  it("data events reach only rules that ask for them on detail.eventCategory, or when a trail logs them", () => {
    const getObject = record({
      eventSource: "s3.amazonaws.com",
      eventName: "GetObject",
      readOnly: true,
      managementEvent: false,
      eventCategory: "Data",
    });
    const s3Rule = rule("ENABLED", '{"source": ["aws.s3"]}');
    assert.deepEqual(offerCloudTrailRecord(getObject, s3Rule), { offered: false, reason: "data-event-not-requested" });
    const asking = rule("ENABLED", '{"source": ["aws.s3"], "detail": {"eventCategory": ["Data"]}}');
    const decision = offerCloudTrailRecord(getObject, asking);
    assert.ok(decision.offered && decision.matched);
    const loggedByTrail = offerCloudTrailRecord(getObject, s3Rule, { dataEventLoggedByTrail: true });
    assert.ok(loggedByTrail.offered && loggedByTrail.matched);
    // A data event is not a management event: its Get… name does not withhold it.
    assert.ok(offerCloudTrailRecord(getObject, asking).offered);
  });

  it("asksForDataEvents looks at detail.eventCategory only, in any $or branch, dotted or nested", () => {
    const asks = (pattern: string) => asksForDataEvents(compileEventPattern(pattern));
    assert.equal(asks('{"detail": {"eventCategory": ["Data"]}}'), true);
    assert.equal(asks('{"detail.eventCategory": [{"anything-but": "Management"}]}'), true);
    assert.equal(asks('{"detail": {"$or": [{"eventCategory": ["Data"]}, {"eventName": ["PutObject"]}]}}'), true);
    assert.equal(asks('{"$or": [{"detail": {"eventCategory": ["Data"]}}, {"source": ["aws.s3"]}]}'), true);
    assert.equal(asks('{"eventCategory": ["Data"]}'), false);
    assert.equal(asks('{"detail": {"requestParameters": {"eventCategory": ["Data"]}}}'), false);
    assert.equal(asks('{"source": ["aws.s3"]}'), false);
  });

  it("records EventBridge is not sent (network activity) are not offered", () => {
    const network = record({ eventType: "AwsVpceEvent", eventCategory: "NetworkActivity" });
    assert.deepEqual(offerCloudTrailRecord(network, rule("ENABLED", ANY_CLOUDTRAIL_CALL)), {
      offered: false,
      reason: "not-sent-to-eventbridge",
    });
  });

  it("envelopes over 256 KB are not offered; one just under is", () => {
    const sized = (bytes: number) => {
      const base = record({ requestParameters: { blob: "" } });
      const overhead = Buffer.byteLength(JSON.stringify(prepareCloudTrailRecord(base).envelope));
      return record({ requestParameters: { blob: "x".repeat(bytes - overhead) } });
    };
    const anyRule = rule("ENABLED", ANY_CLOUDTRAIL_CALL);
    assert.equal(offerCloudTrailRecord(sized(ENVELOPE_BYTES_MAX), anyRule).offered, true);
    assert.deepEqual(offerCloudTrailRecord(sized(ENVELOPE_BYTES_MAX + 1), anyRule), {
      offered: false,
      reason: "too-large",
    });
  });

  it("a record parsed from a long JSON text is still measured; a short one needs no measuring", () => {
    const huge = record({ requestParameters: { blob: "x".repeat(ENVELOPE_BYTES_MAX) } });
    const json = JSON.stringify(huge);
    assert.equal(prepareCloudTrailRecord(huge, { sourceJsonLength: json.length }).tooLarge, true);
    assert.equal(prepareCloudTrailRecord(huge).tooLarge, true);
    const small = record({});
    assert.equal(prepareCloudTrailRecord(small, { sourceJsonLength: JSON.stringify(small).length }).tooLarge, false);
  });

  it("a prepared record matches alike whether its envelope has dotted or __proto__ keys or not", () => {
    const anyRule = rule("ENABLED", '{"detail": {"requestParameters": {"a": {"b": ["x"]}}}}');
    const protoRule = rule("ENABLED", '{"detail": {"requestParameters": {"__proto__": {"b": ["x"]}}}}');
    const dotted = record({ requestParameters: { "a.b": "x" } });
    const nested = record({ requestParameters: { a: { b: "x" } } });
    const proto = record({ requestParameters: JSON.parse('{"__proto__": {"b": "x"}, "a": {"b": "y"}}') as never });
    const matched = (each: CloudTrailRecord, offer: CloudTrailRule) => {
      const decision = offerPreparedRecord(prepareCloudTrailRecord(each), offer);
      return decision.offered && decision.matched;
    };
    assert.equal(matched(dotted, anyRule), true);
    assert.equal(matched(nested, anyRule), true);
    assert.equal(matched(proto, anyRule), false);
    // As before the event was expanded only when needed: the expansion does not keep a __proto__ key.
    assert.equal(matched(proto, protoRule), false);
  });

  it("exactStringsOf names the values a pattern ties a top-level field to, and nothing else", () => {
    const of = (pattern: string) => exactStringsOf(compileEventPattern(pattern), "source");
    assert.deepEqual(of('{"source": ["aws.s3", "aws.ec2"], "detail": {"eventName": ["x"]}}'), ["aws.s3", "aws.ec2"]);
    assert.equal(of('{"source": ["aws.s3", {"prefix": "aws.e"}]}'), undefined);
    assert.equal(of('{"source": [{"anything-but": "aws.s3"}]}'), undefined);
    assert.equal(of('{"$or": [{"source": ["aws.s3"]}, {"source": ["aws.ec2"]}]}'), undefined);
    assert.equal(of('{"detail": {"source": ["aws.s3"]}}'), undefined);
    assert.equal(of('{"detail-type": ["AWS API Call via CloudTrail"]}'), undefined);
  });

  it("a prepared record is offered to many rules with one envelope", () => {
    const prepared = prepareCloudTrailRecord(record({}));
    const rules = [
      rule("ENABLED", ANY_CLOUDTRAIL_CALL),
      rule("DISABLED", ANY_CLOUDTRAIL_CALL),
      rule("ENABLED", '{"source": ["aws.s3"]}'),
    ];
    const decisions = rules.map((each) => offerPreparedRecord(prepared, each));
    assert.deepEqual(
      decisions.map((decision) => (decision.offered ? decision.matched : decision.reason)),
      [true, "rule-disabled", false],
    );
    const [first] = decisions;
    assert.ok(first?.offered);
    assert.equal(first.envelope, prepared.envelope);
  });
});
