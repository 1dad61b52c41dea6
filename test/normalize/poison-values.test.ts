/**
 * Values that would stop a consumer for good (ingest rules 7 and 13): unpaired surrogates are
 * repaired to U+FFFD on every path that builds a record, and identifiers that become S3 key
 * segments are refused with unusable_identifier.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { normalizeIngestedRecord, type NormalizeResult } from "../../src/normalize/pipeline.js";
import { buildApiCallRecord } from "../../src/normalize/build-record.js";
import { buildActivityRecord } from "../../src/normalize/build-activity-record.js";

const context = { receivedAtMs: Date.UTC(2024, 0, 1), randomUUID: () => "11111111-2222-4333-8444-555555555555" };

function base(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventVersion: "1.09",
    userIdentity: { type: "IAMUser", accountId: "123456789012", userName: "Mary" },
    eventTime: "2023-07-19T21:33:41Z",
    eventSource: "cloudtrail.amazonaws.com",
    eventName: "StartLogging",
    awsRegion: "us-east-1",
    requestParameters: { name: "myTrail" },
    responseElements: null,
    eventID: "eae87c48-d421-4626-94f5-EXAMPLEac994",
    recipientAccountId: "123456789012",
    ...overrides,
  };
}

/** True when `text` can be encoded as UTF-8 without loss (no unpaired surrogate anywhere). */
function isWellFormed(text: string): boolean {
  return Buffer.from(text, "utf8").toString("utf8") === text;
}

function accepted(result: NormalizeResult): Extract<NormalizeResult, { ok: true }> {
  if (!result.ok) assert.fail(`rejected: ${result.errorCode}: ${result.message}`);
  return result;
}

describe("unpaired UTF-16 surrogates", () => {
  it("are replaced by U+FFFD in keys and values at any depth, and counted", () => {
    // As JSON.parse makes them from the escapes `\ud800` and `\udfff` a sender can write.
    const raw = JSON.parse(
      '{"userAgent":"\\ud800","requestParameters":{"a\\udc00":[{"deep":"x\\udfffy"}],' +
        '"pair":"\\ud83d\\ude00","text":"\\\\ud800"}}',
    ) as Record<string, unknown>;
    const result = accepted(normalizeIngestedRecord(base(raw), context));
    assert.equal(result.repairs, 3);
    assert.ok(isWellFormed(result.json), result.json);
    assert.equal(result.record.userAgent, "\ufffd");
    assert.deepEqual(result.record.requestParameters, {
      "a\ufffd": [{ deep: "x\ufffdy" }],
      pair: "\u{1f600}",
      text: "\\ud800",
    });
    assert.deepEqual(JSON.parse(result.json), result.record);
  });

  it("leave ordinary records untouched (0 repairs) and normalise idempotently after repair", () => {
    assert.equal(accepted(normalizeIngestedRecord(base({ userAgent: "aws-cli/2 \u{1f600}" }), context)).repairs, 0);
    const once = accepted(normalizeIngestedRecord(base({ errorMessage: "bad \udbff" }), context));
    const twice = accepted(normalizeIngestedRecord(JSON.parse(once.json), context));
    assert.equal(twice.json, once.json);
    assert.equal(twice.repairs, 0);
  });

  it("are repaired in records Cairn builds itself: API calls and PutAuditEvents records", () => {
    const built = buildApiCallRecord({
      eventSource: "cloudtrail.amazonaws.com",
      eventName: "LookupEvents",
      awsRegion: "us-east-1",
      eventTimeMs: Date.UTC(2024, 0, 1),
      userIdentity: { type: "Root", accountId: "123456789012" },
      sourceIPAddress: "127.0.0.1",
      requestParameters: { lookupAttributes: [{ attributeKey: "Username", attributeValue: "\ud800x" }] },
      responseElements: null,
      readOnly: true,
      managementEvent: true,
      requestID: "r",
      eventID: "e",
      recipientAccountId: "123456789012",
    });
    assert.ok(isWellFormed(built.json), built.json);
    assert.match(built.json, /"attributeValue":"\ufffdx"/);
    assert.deepEqual(JSON.parse(built.json), built.record);

    const activity = buildActivityRecord({
      data: { version: "1", "user\udc00": { name: "\ud800" } },
      eventTimeSeconds: "2024-01-01T00:00:00",
      eventId: "e",
      awsRegion: "us-east-1",
      recipientAccountId: "123456789012",
      channelArn: "arn:aws:cloudtrail:us-east-1:123456789012:channel/c",
      ingestedAtMs: Date.UTC(2024, 0, 1),
    });
    if (!activity.ok) assert.fail(activity.message);
    assert.ok(isWellFormed(activity.json), activity.json);
    assert.deepEqual(JSON.parse(activity.json).eventData, { version: "1", "user\ufffd": { name: "\ufffd" } });
  });
});

describe("identifiers Cairn files records under", () => {
  it("refuses separators, control characters, dot segments and over-long values with unusable_identifier", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ awsRegion: "../../etc" }, "awsRegion"],
      [{ awsRegion: "us-east-1\\x" }, "awsRegion"],
      [{ awsRegion: "us-east-1\n" }, "awsRegion"],
      [{ awsRegion: ".." }, "awsRegion"],
      [{ awsRegion: "x".repeat(65) }, "awsRegion"],
      [{ recipientAccountId: "1234/5678" }, "recipientAccountId"],
      [{ recipientAccountId: "12345\u0000" }, "recipientAccountId"],
      [{ userIdentity: { type: "IAMUser", accountId: "a/../b" } }, "userIdentity.accountId"],
      [{ userIdentity: { type: "IAMUser", accountId: "" } }, "userIdentity.accountId"],
      [{ userIdentity: { type: "IAMUser", accountId: "\u0085" } }, "userIdentity.accountId"],
    ];
    for (const [overrides, field] of cases) {
      const result = normalizeIngestedRecord(base(overrides), context);
      assert.equal(result.ok, false, JSON.stringify(overrides));
      if (result.ok) continue;
      assert.equal(result.errorCode, "unusable_identifier", result.message);
      assert.ok(result.message.startsWith(`Field ${field} `), result.message);
    }
  });

  it("keeps odd but harmless values the public samples hold", () => {
    for (const overrides of [
      { awsRegion: "us-north-2r" },
      { awsRegion: "redacted" },
      { awsRegion: "..." },
      { recipientAccountId: "<organization master account ID>" },
      { recipientAccountId: "redacted" },
      { userIdentity: { type: "IAMUser", accountId: "xxx" } },
    ]) {
      accepted(normalizeIngestedRecord(base(overrides), context));
    }
  });
});
