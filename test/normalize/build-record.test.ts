import { test } from "node:test";
import assert from "node:assert/strict";
import { buildApiCallRecord, type ApiCallInput } from "../../src/normalize/build-record.js";
import { normalizeIngestedRecord } from "../../src/normalize/pipeline.js";

function input(overrides: Partial<ApiCallInput> = {}): ApiCallInput {
  return {
    eventSource: "cloudtrail.amazonaws.com",
    eventName: "StartLogging",
    awsRegion: "us-east-1",
    eventTimeMs: Date.UTC(2023, 6, 19, 21, 33, 41, 987),
    userIdentity: { type: "IAMUser", accountId: "123456789012", userName: "Mary_Major" },
    sourceIPAddress: "192.0.2.0",
    userAgent: "aws-cli/2.13.5",
    requestParameters: { name: "myTrail" },
    responseElements: null,
    readOnly: false,
    managementEvent: true,
    requestID: "9d478fc1-4f10-490f-a26b-EXAMPLE0e932",
    eventID: "eae87c48-d421-4626-94f5-EXAMPLEac994",
    recipientAccountId: "123456789012",
    tlsDetails: { tlsVersion: "TLSv1.2", cipherSuite: "ECDHE-RSA-AES128-GCM-SHA256" },
    ...overrides,
  };
}

test("builds the record in CloudTrail's field order with eventVersion 1.11", () => {
  const { record, json } = buildApiCallRecord(
    input({ errorCode: "TrailNotFoundException", errorMessage: "Unknown trail" }),
  );
  assert.equal(record.eventVersion, "1.11");
  assert.equal(record.eventTime, "2023-07-19T21:33:41Z");
  assert.deepEqual(Object.keys(JSON.parse(json) as object), [
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "requestID",
    "eventID",
    "readOnly",
    "eventType",
    "managementEvent",
    "recipientAccountId",
    "eventCategory",
    "tlsDetails",
  ]);
  assert.deepEqual(JSON.parse(json), record);
  assert.equal(record.eventType, "AwsApiCall");
  assert.equal(record.eventCategory, "Management");
});

test("read-only calls log responseElements as null; data events are categorised Data", () => {
  const { record } = buildApiCallRecord(
    input({ readOnly: true, managementEvent: false, responseElements: { trailList: [] } }),
  );
  assert.equal(record.responseElements, null);
  assert.equal(record.eventCategory, "Data");
  assert.equal(record.managementEvent, false);
});

test("optional members are omitted when not given, resources and apiVersion kept when given", () => {
  const { record, json } = buildApiCallRecord(
    input({
      userIdentity: undefined,
      userAgent: undefined,
      tlsDetails: undefined,
      apiVersion: "2013-11-01",
      resources: [{ accountId: "123456789012", type: "AWS::CloudTrail::Trail", ARN: "arn:aws:cloudtrail:x" }],
    }),
  );
  assert.equal("userIdentity" in record, false);
  assert.equal(json.includes("userAgent"), false);
  const keys = Object.keys(record);
  assert.ok(keys.indexOf("resources") === keys.indexOf("readOnly") + 1);
  assert.ok(keys.indexOf("apiVersion") === keys.indexOf("eventType") + 1);
});

test("secrets are redacted and size limits applied", () => {
  const { record } = buildApiCallRecord(
    input({
      eventSource: "rds.amazonaws.com",
      eventName: "CreateDBInstance",
      requestParameters: { masterUserPassword: "hunter2", dBInstanceIdentifier: "db1" },
      responseElements: { pendingModifiedValues: { masterUserPassword: "hunter2" } },
      userAgent: "u".repeat(5000),
    }),
  );
  assert.deepEqual(record.requestParameters, { masterUserPassword: "****", dBInstanceIdentifier: "db1" });
  assert.deepEqual(record.responseElements, { pendingModifiedValues: { masterUserPassword: "****" } });
  assert.equal(record.userAgent, "u".repeat(1023) + "...");
});

test("a built record passes the ingest pipeline unchanged", () => {
  const { json } = buildApiCallRecord(input());
  const again = normalizeIngestedRecord(JSON.parse(json), { receivedAtMs: Date.UTC(2024, 0, 1) });
  assert.equal(again.ok && again.json, json);
});
