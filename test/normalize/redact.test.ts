/** The shared redaction table and the §1.7 size limits. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applySizeLimits,
  EC2_SENSITIVE_DATA_REMOVED,
  HIDDEN,
  mayContainSecrets,
  PASSWORD_MASK,
  REDACTION_DEPTH_MAX,
  REDACTION_RULES,
  redactSecrets,
  SIZE_LIMITS,
  truncateField,
  truncateUtf8,
} from "../../src/normalize/redact.js";

const anyCall = { eventSource: "rds.amazonaws.com", eventName: "CreateDBInstance" };

test("every entry of the redaction table redacts each of its members, at any depth and any case", () => {
  for (const rule of REDACTION_RULES) {
    const context = rule.only
      ? { eventSource: rule.only.eventSource, eventName: rule.only.eventNames[0] ?? "" }
      : { eventSource: "example.amazonaws.com", eventName: "Example" };
    for (const member of rule.members) {
      for (const name of [member, member.toUpperCase(), member.charAt(0).toUpperCase() + member.slice(1)]) {
        const input = { keep: "visible", [name]: "s3cr3t", nested: [{ [name]: { deep: "s3cr3t" } }] };
        const output = redactSecrets(input, context) as Record<string, unknown>;
        assert.equal(output[name], rule.replacement, `${rule.why} ${name}`);
        assert.deepEqual(output.nested, [{ [name]: rule.replacement }]);
        assert.equal(output.keep, "visible");
        assert.equal(mayContainSecrets(JSON.stringify(input), context), true, name);
      }
    }
  }
});

test("scoped entries apply only to their events", () => {
  const sns = { message: "hello", subject: "hi", messageAttributes: { a: 1 }, topicArn: "arn:aws:sns:x" };
  assert.deepEqual(redactSecrets(sns, { eventSource: "sns.amazonaws.com", eventName: "Publish" }), {
    message: HIDDEN,
    subject: HIDDEN,
    messageAttributes: HIDDEN,
    topicArn: "arn:aws:sns:x",
  });
  const batch = { publishBatchRequestEntries: [{ id: "1", message: "m" }] };
  assert.deepEqual(redactSecrets(batch, { eventSource: "sns.amazonaws.com", eventName: "PublishBatch" }), {
    publishBatchRequestEntries: [{ id: "1", message: HIDDEN }],
  });
  assert.deepEqual(redactSecrets({ message: "log line" }, anyCall), { message: "log line" });
  assert.equal(mayContainSecrets('{"message":"x"}', anyCall), false);
  const keyPair = { keyName: "k", keyMaterial: "-----BEGIN RSA PRIVATE KEY-----" };
  assert.deepEqual(redactSecrets(keyPair, { eventSource: "ec2.amazonaws.com", eventName: "CreateKeyPair" }), {
    keyName: "k",
    keyMaterial: EC2_SENSITIVE_DATA_REMOVED,
  });
  assert.deepEqual(redactSecrets(keyPair, { eventSource: "kms.amazonaws.com", eventName: "ImportKeyMaterial" }), {
    keyName: "k",
    keyMaterial: HIDDEN,
  });
});

test("CreateDBInstance's masterUserPassword logs as ****", () => {
  assert.deepEqual(redactSecrets({ dBInstanceIdentifier: "db1", masterUserPassword: "hunter2" }, anyCall), {
    dBInstanceIdentifier: "db1",
    masterUserPassword: PASSWORD_MASK,
  });
});

test("STS AssumeRole keeps accessKeyId, sessionToken and expiration, never a secret key", () => {
  const credentials = {
    accessKeyId: "ASIAEXAMPLE",
    sessionToken: "token",
    expiration: "Jan 22, 2021 12:46:28 AM",
    secretAccessKey: "wJalr",
  };
  assert.deepEqual(redactSecrets({ credentials }, { eventSource: "sts.amazonaws.com", eventName: "AssumeRole" }), {
    credentials: {
      accessKeyId: "ASIAEXAMPLE",
      sessionToken: "token",
      expiration: "Jan 22, 2021 12:46:28 AM",
      secretAccessKey: HIDDEN,
    },
  });
});

test("existing placeholders and nulls are kept; names match exactly, not by substring", () => {
  const input = { masterUserPassword: HIDDEN, password: null, passwordResetRequired: true, minimumPasswordLength: 8 };
  assert.equal(redactSecrets(input, anyCall), input);
});

test("redaction is copy-on-write and never mutates its input", () => {
  const untouched = { a: { b: [1, 2] } };
  assert.equal(redactSecrets(untouched, anyCall), untouched);
  const input = { a: { password: "p" }, b: { c: 1 } };
  const output = redactSecrets(input, anyCall) as typeof input;
  assert.equal(input.a.password, "p");
  assert.equal(output.b, input.b);
  assert.equal(redactSecrets("password", anyCall), "password");
  assert.equal(redactSecrets(null, anyCall), null);
});

test("structures deeper than the walk limit are hidden whole (fail closed)", () => {
  let deep: unknown = { password: "p" };
  for (let level = 0; level < REDACTION_DEPTH_MAX + 5; level += 1) deep = { next: deep };
  assert.equal(JSON.stringify(redactSecrets(deep, anyCall)).includes('"p"'), false);
});

test("string fields over 1 KB are truncated UTF-8-safely with CloudTrail's '...' suffix", () => {
  const long = "a".repeat(1023) + "€€€";
  const record = { userAgent: long, errorCode: "E", errorMessage: "é".repeat(600), requestID: "r".repeat(1024) };
  const limited = applySizeLimits(record);
  assert.equal(limited.userAgent, "a".repeat(1023) + "...");
  assert.equal(limited.errorMessage, "é".repeat(511) + "...");
  assert.equal(limited.requestID, record.requestID);
  assert.equal(limited.errorCode, "E");
  assert.equal(applySizeLimits(limited), limited, "already-truncated values are left alone");
  assert.equal(truncateField(limited.errorMessage, SIZE_LIMITS.stringBytes), limited.errorMessage);
  assert.equal(truncateUtf8("€€", 5), "€");
  assert.equal(truncateUtf8("😀x", 3), "");
});

test("payload objects over their limits are replaced by an omitted marker", () => {
  const payload = { blob: "x".repeat(SIZE_LIMITS.payloadBytes) };
  const detail = { blob: "x".repeat(SIZE_LIMITS.detailBytes) };
  const fits = { blob: "x".repeat(SIZE_LIMITS.detailBytes - 20) };
  const record = {
    requestParameters: payload,
    responseElements: payload,
    serviceEventDetails: payload,
    additionalEventData: detail,
    edgeDeviceDetails: fits,
  };
  const limited = applySizeLimits(record);
  const payloadSize = JSON.stringify(payload).length;
  const detailSize = JSON.stringify(detail).length;
  assert.deepEqual(limited.requestParameters, { omitted: true, originalSize: payloadSize });
  assert.deepEqual(limited.responseElements, { omitted: true, originalSize: payloadSize });
  assert.deepEqual(limited.serviceEventDetails, { omitted: true, originalSize: payloadSize });
  assert.deepEqual(limited.additionalEventData, { omitted: true, originalSize: detailSize });
  assert.equal(limited.edgeDeviceDetails, fits);
  assert.equal(record.requestParameters, payload, "input not mutated");
  const small = { requestParameters: { a: 1 } };
  assert.equal(applySizeLimits(small, { serializedBytes: 20 }), small);
});
