/** The shared redaction: the secret-name list, the exceptions table, and the §1.7 size limits. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applySizeLimits,
  EC2_SENSITIVE_DATA_REMOVED,
  HIDDEN,
  isRedactionPlaceholder,
  mayNeedRedaction,
  PASSWORD_MASK,
  REDACTION_DEPTH_MAX,
  REDACTION_RULES,
  redactSecrets,
  SIZE_LIMITS,
  truncateField,
  truncateUtf8,
} from "../../src/normalize/redact.js";
import { REDACTION_EXCEPTIONS, SSM_TOKEN_HIDDEN } from "../../src/normalize/redaction-exceptions.js";

const anyCall = { eventSource: "rds.amazonaws.com", eventName: "CreateDBInstance", field: "requestParameters" };
const request = (eventSource: string, eventName: string) => ({ eventSource, eventName, field: "requestParameters" });
const response = (eventSource: string, eventName: string) => ({ eventSource, eventName, field: "responseElements" });

test("every name of the secret-name list is redacted, at any depth and any case", () => {
  const context = request("example.amazonaws.com", "Example");
  for (const rule of REDACTION_RULES) {
    for (const member of rule.members) {
      for (const name of [member, member.toUpperCase(), member.charAt(0).toUpperCase() + member.slice(1)]) {
        const input = { keep: "visible", [name]: "s3cr3t", nested: [{ [name]: { deep: "s3cr3t" } }] };
        const output = redactSecrets(input, context) as Record<string, unknown>;
        assert.equal(output[name], rule.replacement, `${rule.why} ${name}`);
        assert.deepEqual(output.nested, [{ [name]: rule.replacement }]);
        assert.equal(output.keep, "visible");
        assert.equal(mayNeedRedaction([input], context), true, name);
      }
    }
  }
});

test("the secret-name list leaves alone what CloudTrail logs", () => {
  const logged = {
    nextToken: "n",
    clientToken: "c",
    sessionToken: "s",
    accessKeyId: "ASIA1",
    passwordResetRequired: true,
    minimumPasswordLength: 8,
  };
  assert.equal(redactSecrets(logged, request("example.amazonaws.com", "Example")), logged);
  assert.equal(mayNeedRedaction([logged], request("example.amazonaws.com", "Example")), false);
});

/** A record value holding `secret` at the exception's path (lists wrapped as the path's record shows). */
function valueAt(path: readonly string[], secret: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  return { [head!]: rest.length === 0 ? secret : valueAt(rest, secret), untouched: "visible" };
}

function memberAt(value: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], value);
}

test("every exception applies its action at its path, only for its event and field, and cites a record", () => {
  for (const exception of REDACTION_EXCEPTIONS) {
    assert.ok(exception.source.length > 20, `${exception.eventSource} ${exception.path} cites its record`);
    // Kept members are the model pass's business: test/capture/sensitive-members.test.ts.
    if ("keep" in exception.action) continue;
    const eventName = exception.eventNames === "*" ? "AnyOperation" : exception.eventNames[0]!;
    const target = { eventSource: exception.eventSource, eventName, field: exception.field };
    const path = exception.path.split(".");
    const input = valueAt(path, "s3cr3t-value");
    const output = redactSecrets(input, target);
    const label = `${exception.eventSource} ${eventName} ${exception.field}.${exception.path}`;
    assert.equal(JSON.stringify(output).includes("s3cr3t-value"), false, label);
    assert.equal(mayNeedRedaction([input], target), true, label);
    if ("omit" in exception.action) {
      assert.equal(memberAt(output, path), undefined, label);
      assert.ok(JSON.stringify(output).includes("visible"), label);
    } else {
      assert.equal(memberAt(output, path), exception.action.replace, label);
      assert.ok(isRedactionPlaceholder(exception.action.replace), label);
    }
    const otherField = { ...target, field: exception.field === "requestParameters" ? "responseElements" : "x" };
    const elsewhere = redactSecrets(input, otherField);
    if (!REDACTION_RULES.some((rule) => rule.members.includes(path.at(-1)!))) {
      assert.equal(elsewhere, input, `${label}: not applied to another field`);
    }
  }
});

test("exceptions step through lists and EC2's {items: [...]}", () => {
  const batch = { publishBatchRequestEntries: [{ id: "1", message: "m" }], topicArn: "arn" };
  assert.deepEqual(redactSecrets(batch, request("sns.amazonaws.com", "PublishBatch")), {
    publishBatchRequestEntries: [{ id: "1", message: HIDDEN }],
    topicArn: "arn",
  });
  const items = { publishBatchRequestEntries: { items: [{ id: "1", subject: "s" }] } };
  assert.deepEqual(redactSecrets(items, request("sns.amazonaws.com", "PublishBatch")), {
    publishBatchRequestEntries: { items: [{ id: "1", subject: HIDDEN }] },
  });
  const ec2 = { userData: { value: "IyEvYmluL3NoCg==" }, instanceId: "i-1" };
  assert.deepEqual(redactSecrets(ec2, request("ec2.amazonaws.com", "ModifyInstanceAttribute")), {
    userData: EC2_SENSITIVE_DATA_REMOVED,
    instanceId: "i-1",
  });
  const sns = { message: "hello", subject: "hi", messageAttributes: { a: 1 }, topicArn: "arn:aws:sns:x" };
  assert.deepEqual(redactSecrets(sns, request("sns.amazonaws.com", "Publish")), {
    message: HIDDEN,
    subject: HIDDEN,
    messageAttributes: HIDDEN,
    topicArn: "arn:aws:sns:x",
  });
  assert.deepEqual(redactSecrets({ message: "log line" }, anyCall), { message: "log line" });
  assert.equal(mayNeedRedaction([{ message: "x" }], anyCall), false);
});

test("RDS master passwords log as ****, in the request and in pendingModifiedValues", () => {
  assert.deepEqual(redactSecrets({ dBInstanceIdentifier: "db1", masterUserPassword: "hunter2" }, anyCall), {
    dBInstanceIdentifier: "db1",
    masterUserPassword: PASSWORD_MASK,
  });
  const answer = { dBInstanceIdentifier: "db1", pendingModifiedValues: { masterUserPassword: "hunter2" } };
  assert.deepEqual(redactSecrets(answer, response("rds.amazonaws.com", "RebootDBInstance")), {
    dBInstanceIdentifier: "db1",
    pendingModifiedValues: { masterUserPassword: PASSWORD_MASK },
  });
});

test("STS credentials keep accessKeyId, sessionToken and expiration; the secret key is omitted", () => {
  const credentials = {
    accessKeyId: "ASIAEXAMPLE",
    sessionToken: "token",
    expiration: "Jan 22, 2021 12:46:28 AM",
    secretAccessKey: "wJalr",
  };
  for (const eventName of ["AssumeRole", "GetSessionToken", "GetFederationToken"]) {
    assert.deepEqual(redactSecrets({ credentials }, response("sts.amazonaws.com", eventName)), {
      credentials: { accessKeyId: "ASIAEXAMPLE", sessionToken: "token", expiration: "Jan 22, 2021 12:46:28 AM" },
    });
  }
});

test("the SSM control channel's token (an operation no bundled model has) gets CloudTrail's text", () => {
  const answer = { messageSchemaVersion: "1.0", tokenValue: "AAEAAbIWRNYn", url: "wss://x" };
  assert.deepEqual(redactSecrets(answer, response("ssm.amazonaws.com", "CreateControlChannel")), {
    ...answer,
    tokenValue: SSM_TOKEN_HIDDEN,
  });
});

test("existing placeholders and nulls are kept; names match exactly, not by substring", () => {
  const input = { masterUserPassword: HIDDEN, password: null, passwordResetRequired: true, minimumPasswordLength: 8 };
  assert.equal(redactSecrets(input, anyCall), input);
  // Real CloudTrail records carry both RDS placeholders; ingesting them keeps each as delivered.
  const older = { pendingModifiedValues: { masterUserPassword: HIDDEN } };
  assert.equal(redactSecrets(older, response("rds.amazonaws.com", "CreateDBInstance")), older);
  const ssm = { name: "/p", value: HIDDEN, type: "SecureString" };
  assert.equal(redactSecrets(ssm, request("ssm.amazonaws.com", "PutParameter")), ssm);
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
  const credentials = { credentials: { accessKeyId: "A", secretAccessKey: "s" } };
  redactSecrets(credentials, response("sts.amazonaws.com", "AssumeRole"));
  assert.equal(credentials.credentials.secretAccessKey, "s", "omission copies too");
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
  assert.equal(applySizeLimits(small, { serializedBytesAtMost: 20 }), small);
});
