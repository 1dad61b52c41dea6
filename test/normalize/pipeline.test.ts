/** Rules of normalizeIngestedRecord (docs/reference/ingest-rules.md), one test per rule. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { normalizeIngestedRecord, type NormalizeResult } from "../../src/normalize/pipeline.js";
import type { CloudTrailRecord } from "../../src/model/record.js";

const RECEIVED_AT_MS = Date.UTC(2024, 0, 1);
const context = { receivedAtMs: RECEIVED_AT_MS, randomUUID: () => "11111111-2222-4333-8444-555555555555" };

function base(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventVersion: "1.09",
    userIdentity: { type: "IAMUser", accountId: "123456789012", userName: "Mary" },
    eventTime: "2023-07-19T21:33:41Z",
    eventSource: "cloudtrail.amazonaws.com",
    eventName: "StartLogging",
    awsRegion: "us-east-1",
    sourceIPAddress: "192.0.2.0",
    requestParameters: { name: "myTrail" },
    responseElements: null,
    eventID: "eae87c48-d421-4626-94f5-EXAMPLEac994",
    readOnly: false,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: "123456789012",
    eventCategory: "Management",
    ...overrides,
  };
}

function accepted(result: NormalizeResult): CloudTrailRecord {
  if (!result.ok) assert.fail(`rejected: ${result.errorCode}: ${result.message}`);
  return result.record;
}

function rejectedWith(result: NormalizeResult, code: string): string {
  assert.equal(result.ok, false, "expected a rejection");
  if (result.ok) return "";
  assert.equal(result.errorCode, code, result.message);
  return result.message;
}

function without(field: string): Record<string, unknown> {
  const record = base();
  delete record[field];
  return record;
}

test("hostile inputs are rejected, never thrown", () => {
  const deep: Record<string, unknown> = {};
  let cursor = deep;
  for (let level = 0; level < 100_000; level += 1) {
    const next: Record<string, unknown> = {};
    cursor.x = next;
    cursor = next;
  }
  const cyclic = base();
  (cyclic.requestParameters as Record<string, unknown>).self = cyclic;
  const cases: Array<[unknown, string]> = [
    [null, "not_an_object"],
    [[base()], "not_an_object"],
    [42, "not_an_object"],
    ["{}", "not_an_object"],
    [undefined, "not_an_object"],
    [new Map(), "not_an_object"],
    [base({ requestParameters: deep }), "nesting_too_deep"],
    [base({ additionalEventData: JSON.parse("[".repeat(40) + "]".repeat(40)) as unknown }), "invalid_field_type"],
    [base({ requestParameters: { a: JSON.parse("[".repeat(40) + "]".repeat(40)) as unknown } }), "nesting_too_deep"],
    [cyclic, "nesting_too_deep"],
    [base({ requestParameters: { n: 10n } }), "not_json_serializable"],
    [base({ requestParameters: { blob: "x".repeat(300 * 1024) } }), "event_too_large"],
    [base({ userAgent: "é".repeat(200 * 1024) }), "event_too_large"],
    [base({ eventName: "x".repeat(100_000) }), "field_too_long"],
    [base({ eventTime: "2".repeat(1_000_000) }), "invalid_event_time"],
  ];
  for (const [input, code] of cases) {
    let result: NormalizeResult | undefined;
    assert.doesNotThrow(() => {
      result = normalizeIngestedRecord(input, context);
    });
    if (result !== undefined && !result.ok && result.errorCode !== code) {
      assert.fail(`expected ${code}, got ${result.errorCode}: ${result.message.slice(0, 200)}`);
    }
    assert.equal(result?.ok, false);
  }
});

test("required fields: eventTime, eventSource, eventName, awsRegion", () => {
  for (const field of ["eventTime", "eventSource", "eventName", "awsRegion"]) {
    const message = rejectedWith(normalizeIngestedRecord(without(field), context), "missing_field");
    assert.match(message, new RegExp(field));
  }
  rejectedWith(normalizeIngestedRecord(base({ eventSource: "" }), context), "invalid_field_value");
  rejectedWith(normalizeIngestedRecord(base({ eventName: 7 }), context), "invalid_field_type");
});

test("Insights records need no eventSource, eventName or payload fields", () => {
  const insight = {
    eventVersion: "1.07",
    eventTime: "2019-11-14T00:51:00Z",
    awsRegion: "us-east-1",
    eventID: "EXAMPLE8-9621-4d00-b913-beca2EXAMPLE",
    eventType: "AwsCloudTrailInsight",
    recipientAccountId: "123456789012",
    insightDetails: { state: "Start", eventSource: "ssm.amazonaws.com", eventName: "UpdateInstanceInformation" },
    eventCategory: "Insight",
  };
  const result = normalizeIngestedRecord(insight, context);
  const record = accepted(result);
  assert.equal("requestParameters" in record, false);
  assert.equal(result.ok && result.json, JSON.stringify(insight));
});

test("eventTime forms are normalised; placeholders and impossible dates rejected", () => {
  const cases: Array<[string, string]> = [
    ["2023-07-19T21:33:41Z", "2023-07-19T21:33:41Z"],
    ["2023-07-19T21:33:41.987Z", "2023-07-19T21:33:41Z"],
    ["2023-07-19T23:33:41+02:00", "2023-07-19T21:33:41Z"],
    ["2023-07-19T16:03:41.5-05:30", "2023-07-19T21:33:41Z"],
    ["2022-12-11 19:42:55", "2022-12-11T19:42:55Z"],
    ["2024-01-01 00:00:00.000", "2024-01-01T00:00:00Z"],
    ["2025-01-20 16:52:14.000000000", "2025-01-20T16:52:14Z"],
    ["2022-12-11 19:42:55Z", "2022-12-11T19:42:55Z"],
  ];
  const receivedAtMs = Date.UTC(2026, 0, 1);
  for (const [input, expected] of cases) {
    assert.equal(accepted(normalizeIngestedRecord(base({ eventTime: input }), { receivedAtMs })).eventTime, expected);
  }
  for (const bad of [
    "eventTime",
    "...",
    "redacted",
    "",
    "2023-02-30T00:00:00Z",
    "2023-07-19T24:00:00Z",
    "1689802421",
  ]) {
    const message = rejectedWith(normalizeIngestedRecord(base({ eventTime: bad }), context), "invalid_event_time");
    assert.match(message, /2023-07-19T21:33:41Z/);
  }
  rejectedWith(normalizeIngestedRecord(base({ eventTime: 1689802421 }), context), "invalid_field_type");
  rejectedWith(normalizeIngestedRecord(base({ eventTime: "2024-01-02T00:00:01Z" }), context), "event_time_in_future");
});

test("eventTime falls back to @timestamp, then p_event_time", () => {
  const logstash = { ...without("eventTime"), "@timestamp": "2020-09-14T00:44:23.000Z" };
  const record = accepted(normalizeIngestedRecord(logstash, context));
  assert.equal(record.eventTime, "2020-09-14T00:44:23Z");
  assert.equal(record["@timestamp"], "2020-09-14T00:44:23.000Z");
  const panther = { ...without("eventTime"), p_event_time: "2019-01-01 00:20:04.000Z" };
  assert.equal(accepted(normalizeIngestedRecord(panther, context)).eventTime, "2019-01-01T00:20:04Z");
});

test("a missing eventID gets a UUID from the context; a present one is kept", () => {
  assert.equal(accepted(normalizeIngestedRecord(without("eventID"), context)).eventID, context.randomUUID());
  assert.equal(accepted(normalizeIngestedRecord(base({ eventID: "1" }), context)).eventID, "1");
  const fresh = accepted(normalizeIngestedRecord(without("eventID"), { receivedAtMs: RECEIVED_AT_MS }));
  assert.match(fresh.eventID, /^[0-9a-f-]{36}$/);
});

test("booleans as strings are coerced; other values are rejected", () => {
  const record = accepted(normalizeIngestedRecord(base({ readOnly: "True", managementEvent: "false" }), context));
  assert.equal(record.readOnly, true);
  assert.equal(record.managementEvent, false);
  rejectedWith(normalizeIngestedRecord(base({ readOnly: "yes" }), context), "invalid_field_type");
  rejectedWith(normalizeIngestedRecord(base({ managementEvent: 1 }), context), "invalid_field_type");
  const console = accepted(normalizeIngestedRecord(base({ sessionCredentialFromConsole: true }), context));
  assert.equal(console.sessionCredentialFromConsole, "true");
});

test("wrong JSON types on known fields are rejected with the field and expected type", () => {
  const message = rejectedWith(
    normalizeIngestedRecord(base({ requestParameters: "{}" }), context),
    "invalid_field_type",
  );
  assert.match(message, /requestParameters must be an object or null; got a string/);
  rejectedWith(normalizeIngestedRecord(base({ resources: [{ ARN: 5 }] }), context), "invalid_field_type");
  const nested = rejectedWith(
    normalizeIngestedRecord(base({ userIdentity: { type: "IAMUser", accountId: 123 } }), context),
    "invalid_field_type",
  );
  assert.match(nested, /userIdentity\.accountId must be a string/);
  rejectedWith(normalizeIngestedRecord(base({ userIdentity: "alice" }), context), "invalid_field_type");
});

test("null optional fields are dropped; null payload fields are kept", () => {
  const record = accepted(normalizeIngestedRecord(base({ additionalEventData: null, resources: null }), context));
  assert.equal("additionalEventData" in record, false);
  assert.equal("resources" in record, false);
  assert.equal(record.responseElements, null);
});

test("derivations for old records: eventType, eventCategory, managementEvent, eventVersion, payload nulls", () => {
  const v10 = {
    eventVersion: "1.0",
    eventTime: "2014-03-06T21:22:54Z",
    eventSource: "ec2.amazonaws.com",
    eventName: "StartInstances",
    awsRegion: "us-east-2",
  };
  const record = accepted(normalizeIngestedRecord(v10, context));
  assert.equal(record.eventType, "AwsApiCall");
  assert.equal(record.eventCategory, "Management");
  assert.equal("managementEvent" in record, false, "1.0 records never carried managementEvent");
  assert.equal(record.requestParameters, null);
  assert.equal("recipientAccountId" in record, false);

  const s3v105 = { ...v10, eventVersion: "1.05", eventSource: "s3.amazonaws.com", eventName: "GetObject" };
  assert.equal(accepted(normalizeIngestedRecord(s3v105, context)).eventCategory, "Data");
  const s3v108 = { ...s3v105, eventVersion: "1.08" };
  assert.equal(accepted(normalizeIngestedRecord(s3v108, context)).managementEvent, false);
  const flagged = { ...v10, eventVersion: "1.08", managementEvent: false };
  assert.equal(accepted(normalizeIngestedRecord(flagged, context)).eventCategory, "Data");

  const signIn = { ...v10, eventSource: "signin.amazonaws.com", eventName: "ConsoleLogin" };
  assert.equal(accepted(normalizeIngestedRecord(signIn, context)).eventType, "AwsConsoleSignIn");
  const service = { ...v10, serviceEventDetails: { keyId: "k" } };
  assert.equal(accepted(normalizeIngestedRecord(service, context)).eventType, "AwsServiceEvent");
  const vpce = { ...v10, eventType: "AwsVpceEvent" };
  assert.equal(accepted(normalizeIngestedRecord(vpce, context)).eventCategory, "NetworkActivity");

  const unversioned: Record<string, unknown> = { ...v10, tlsDetails: { tlsVersion: "TLSv1.2" } };
  delete unversioned.eventVersion;
  assert.equal(accepted(normalizeIngestedRecord(unversioned, context)).eventVersion, "1.08");
  const bare: Record<string, unknown> = { ...v10 };
  delete bare.eventVersion;
  assert.equal(accepted(normalizeIngestedRecord(bare, context)).eventVersion, "1.0");

  const lakeType = { ...v10, eventType: "ActivityLog" };
  rejectedWith(normalizeIngestedRecord(lakeType, context), "missing_field");
  rejectedWith(normalizeIngestedRecord({ ...v10, eventVersion: "..." }, context), "invalid_field_value");
});

test("json has CloudTrail's field order, then unknown fields in their order", () => {
  const scrambled = Object.fromEntries(Object.entries(base({ zVendor: 1, aVendor: 2 })).reverse());
  const result = normalizeIngestedRecord(scrambled, context);
  const keys = Object.keys(JSON.parse(result.ok ? result.json : "{}") as object);
  assert.deepEqual(keys, [
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "requestParameters",
    "responseElements",
    "eventID",
    "readOnly",
    "eventType",
    "managementEvent",
    "recipientAccountId",
    "eventCategory",
    "aVendor",
    "zVendor",
  ]);
});

test("a __proto__ member is kept as data and does not change the prototype", () => {
  const raw = JSON.parse(`{"__proto__":{"polluted":true},${JSON.stringify(base()).slice(1)}`) as unknown;
  const result = normalizeIngestedRecord(raw, context);
  const record = accepted(result);
  assert.equal(Object.getPrototypeOf(record), Object.prototype);
  assert.equal(result.ok && result.json.includes('"__proto__":{"polluted":true}'), true);
});

test("ingested payloads are redacted and size-limited; the input is not mutated", () => {
  const raw = base({
    eventSource: "rds.amazonaws.com",
    eventName: "CreateDBInstance",
    requestParameters: { masterUserPassword: "hunter2", big: "y".repeat(101 * 1024) },
    errorMessage: "m".repeat(2000),
  });
  const snapshot = JSON.stringify(raw);
  const result = normalizeIngestedRecord(raw, context);
  const record = accepted(result);
  const redactedSize = JSON.stringify({ masterUserPassword: "****", big: "y".repeat(101 * 1024) }).length;
  assert.deepEqual(record.requestParameters, { omitted: true, originalSize: redactedSize });
  assert.equal(record.errorMessage, "m".repeat(1023) + "...");
  assert.equal(JSON.stringify(raw), snapshot);
  const small = accepted(
    normalizeIngestedRecord(
      base({ eventSource: "rds.amazonaws.com", requestParameters: { masterUserPassword: "hunter2" } }),
      context,
    ),
  );
  assert.deepEqual(small.requestParameters, { masterUserPassword: "****" });
});

test("dedupKey names account, eventID, eventTime, eventSource and eventName", () => {
  const result = normalizeIngestedRecord(base(), context);
  assert.equal(
    result.ok && result.dedupKey,
    JSON.stringify([
      "123456789012",
      "eae87c48-d421-4626-94f5-EXAMPLEac994",
      "2023-07-19T21:33:41Z",
      "cloudtrail.amazonaws.com",
      "StartLogging",
    ]),
  );
  const noRecipient = without("recipientAccountId");
  const fallback = normalizeIngestedRecord(noRecipient, context);
  assert.equal(fallback.ok && (JSON.parse(fallback.dedupKey) as string[])[0], "123456789012");
});
