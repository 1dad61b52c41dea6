/**
 * The normalise fast path (decision 0029) changes no output: normalizeIngestedRecord against the
 * implementation before it (reference-pipeline.ts) on every shared sample record and on variants of
 * each that trip every ingest rule: same `json`, `dedupKey`, record, rejection and repair count.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { normalizeIngestedRecord, type NormalizeResult } from "../../src/normalize/pipeline.js";
import { HIDDEN, PASSWORD_MASK, REDACTION_RULES } from "../../src/normalize/redact.js";
import { cloudTrailShape } from "../../src/normalize/steps/cloudtrail-shape.js";
import { isCanonicalEventTime } from "../../src/normalize/steps/event-time.js";
import { parseIsoDateTime } from "../../src/lib/iso-date-time.js";
import { referenceNormalize } from "./reference-pipeline.js";
import { loadSampleRecords, samplesMissingReason } from "./sample-records.js";

const RECEIVED_AT_MS = Date.UTC(2027, 0, 1);
const skip = samplesMissingReason();

type Raw = Record<string, unknown>;

/** Both implementations on one input, each with its own deterministic UUID source. */
function both(raw: unknown): { fresh: NormalizeResult; old: NormalizeResult } {
  const uuids = () => {
    let n = 0;
    return () => `00000000-0000-4000-8000-${String((n += 1)).padStart(12, "0")}`;
  };
  return {
    fresh: normalizeIngestedRecord(raw, { receivedAtMs: RECEIVED_AT_MS, randomUUID: uuids() }),
    old: referenceNormalize(raw, { receivedAtMs: RECEIVED_AT_MS, randomUUID: uuids() }),
  };
}

/** Everything a caller sees of a result, the record as its JSON (key order included). */
function visible(result: NormalizeResult): unknown {
  if (!result.ok) return { ok: false, errorCode: result.errorCode, message: result.message };
  const { json, dedupKey, repairs, record } = result;
  return { ok: true, json, dedupKey, repairs, record: JSON.stringify(record), keys: Object.keys(record) };
}

function assertSame(raw: unknown, label: string): NormalizeResult {
  const { fresh, old } = both(raw);
  assert.deepEqual(visible(fresh), visible(old), label);
  return fresh;
}

function nested(depth: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i += 1) value = { level: value };
  return value;
}

/** With a member added at the end (after any unknown field, so the fast path's order test sees it). */
const withMember = (raw: Raw, key: string, value: unknown): Raw => ({ ...raw, [key]: value });

/** Variants of one record, each tripping a rule (or the fast path's test of it). */
function variants(raw: Raw): Array<[string, unknown]> {
  const rp = raw.requestParameters;
  const payload = typeof rp === "object" && rp !== null ? rp : {};
  const reversed = Object.fromEntries(Object.entries(raw).reverse());
  const { eventCategory: _c, ...noCategory } = raw;
  const { managementEvent: _m, ...noManagement } = raw;
  const { eventVersion: _v, ...noVersion } = raw;
  const { eventType: _t, ...noType } = raw;
  const { eventID: _i, ...noId } = raw;
  const { requestParameters: _r, ...noRequest } = raw;
  const { eventTime: time, ...noTime } = raw;
  const withProto = JSON.parse(`{"__proto__":{"polluted":true},"x":1}`) as Raw;
  return [
    ["as is", raw],
    ["fields reversed", reversed],
    ["an unknown field first", { cairnExtra: 1, ...raw }],
    ["an unknown field last", withMember(raw, "cairnExtra", { a: [1, "b"] })],
    ["null userAgent", { ...raw, userAgent: null }],
    ["null additionalEventData", { ...raw, additionalEventData: null }],
    ["null resources", { ...raw, resources: null }],
    ["null requestParameters", { ...raw, requestParameters: null }],
    ["null eventCategory", { ...raw, eventCategory: null }],
    ["undefined member", { ...raw, userAgent: undefined }],
    ['readOnly "True"', { ...raw, readOnly: "True" }],
    ['managementEvent "FALSE"', { ...raw, managementEvent: "FALSE" }],
    ["readOnly 1", { ...raw, readOnly: 1 }],
    ["sessionCredentialFromConsole true", { ...raw, sessionCredentialFromConsole: true }],
    ["eventTime with an offset", { ...raw, eventTime: "2023-07-19T23:33:41.5+02:00" }],
    ["eventTime SQL-style", { ...raw, eventTime: "2023-07-19 21:33:41.123" }],
    ["eventTime with fractions", { ...raw, eventTime: "2023-07-19T21:33:41.999Z" }],
    ["eventTime in two days", { ...raw, eventTime: "2027-01-03T00:00:00Z" }],
    ["eventTime not a day", { ...raw, eventTime: "2023-02-30T00:00:00Z" }],
    ["eventTime year 0050", { ...raw, eventTime: "0050-01-01T00:00:00Z" }],
    ["eventTime hour 24", { ...raw, eventTime: "2023-01-01T24:00:00Z" }],
    ["eventTime lower-case z", { ...raw, eventTime: "2023-01-01T00:00:00z" }],
    ["eventTime a number", { ...raw, eventTime: 1689802421 }],
    ["eventTime null, @timestamp", { ...noTime, eventTime: null, "@timestamp": time }],
    ["no eventTime, p_event_time", { ...noTime, p_event_time: "2019-01-01 00:20:04.000" }],
    ["no eventCategory", noCategory],
    ["no managementEvent", noManagement],
    ["no eventVersion", noVersion],
    ["no eventType", noType],
    ["no eventID", noId],
    ["no requestParameters", noRequest],
    ["eventVersion placeholder", { ...raw, eventVersion: "..." }],
    ["awsRegion a path", { ...raw, awsRegion: "../us-east-1" }],
    ["eventName empty", { ...raw, eventName: "" }],
    ["eventSource too long", { ...raw, eventSource: "s".repeat(300) }],
    ["requestParameters a string", { ...raw, requestParameters: "{}" }],
    ["userIdentity a string", { ...raw, userIdentity: "alice" }],
    ["a password at depth", { ...raw, requestParameters: { ...payload, deep: { list: [{ PassWord: "hunter2" }] } } }],
    ["a masked password", { ...raw, responseElements: { masterUserPassword: PASSWORD_MASK } }],
    ["a token in additionalEventData", { ...raw, additionalEventData: { x: [{ authToken: "t" }] } }],
    ["a secret in serviceEventDetails", { ...raw, serviceEventDetails: { secretAccessKey: "k" } }],
    ["a secret name outside the four", { ...raw, userIdentity: { type: "IAMUser", password: "p" } }],
    ["a secret as a value, not a name", { ...raw, requestParameters: { note: "password" } }],
    ["a lone surrogate in a value", { ...raw, userAgent: "agent \ud800" }],
    ["a lone surrogate in a key", { ...raw, requestParameters: { ...payload, ["k\udc00"]: 1 } }],
    ["a surrogate pair", { ...raw, userAgent: "agent \u{1f600}" }],
    ["the text \\ud800", { ...raw, userAgent: "agent \\ud800" }],
    ["__proto__ member", { ...raw, ...withProto }],
    ["__proto__ in requestParameters", { ...raw, requestParameters: withProto }],
    ["nesting 31 deep", { ...raw, requestParameters: nested(30, 1) }],
    ["nesting 33 deep", { ...raw, requestParameters: nested(32, 1) }],
    ["a BigInt", { ...raw, cairnBig: 1n }],
    ["NUL in errorCode", { ...raw, errorCode: "bad\u0000code" }],
  ];
}

/** Variants with members of tens or hundreds of KB: run on the first records of each file only. */
function sizeVariants(raw: Raw): Array<[string, unknown]> {
  return [
    ["userAgent over 1 KB", { ...raw, userAgent: "é".repeat(1500) }],
    ["errorMessage cut already", { ...raw, errorMessage: `${"x".repeat(1023)}...` }],
    ["requestParameters over 100 KB", { ...raw, requestParameters: { blob: "x".repeat(110_000) } }],
    ["additionalEventData over 28 KB", { ...raw, additionalEventData: { blob: "é".repeat(10_000) } }],
    ["additionalEventData just under 28 KB", { ...raw, additionalEventData: { blob: "x".repeat(28_000) } }],
    ["record over 256 KB", { ...raw, cairnBlob: "x".repeat(270_000) }],
  ];
}

test("the fast path gives the old implementation's output on every sample record and its variants", { skip }, () => {
  const { records } = loadSampleRecords();
  let shaped = 0;
  let compared = 0;
  for (const sample of records) {
    const label = `${sample.dataset}/${sample.file}#${sample.index}`;
    if (typeof sample.raw !== "object" || sample.raw === null || Array.isArray(sample.raw)) {
      assertSame(sample.raw, label);
      continue;
    }
    const raw = sample.raw as Raw;
    if (cloudTrailShape(raw, RECEIVED_AT_MS) !== undefined) shaped += 1;
    // Every record as is and reordered; every eighth (each file's first among them) through every variant.
    const every = variants(raw);
    const all =
      sample.index === 0
        ? [...every, ...sizeVariants(raw)]
        : sample.index % 8 === 0
          ? every
          : every.filter(([variant]) => variant === "as is" || variant === "fields reversed");
    for (const [variant, input] of all) {
      const result = assertSame(input, `${label} ${variant}`);
      compared += 1;
      // Normalising the output again takes the fast path and changes nothing (idempotence).
      if (result.ok) {
        const again = JSON.parse(result.json) as Raw;
        if (result.repairs === 0)
          assert.equal(cloudTrailShape(again, RECEIVED_AT_MS), "in-order", `${label} ${variant}`);
        assertSame(again, `${label} ${variant}, again`);
      }
    }
  }
  // The real delivery files are in CloudTrail's shape: the fast path is what this test exercises.
  assert.ok(shaped > records.length / 2, `${shaped} of ${records.length} sample records take the fast path`);
  assert.ok(compared > records.length * 8, `${compared} variants compared`);
});

test(
  "a record the fast path copies as it is keeps its keys and their order through the old implementation",
  { skip },
  () => {
    for (const sample of loadSampleRecords().records) {
      if (typeof sample.raw !== "object" || sample.raw === null || Array.isArray(sample.raw)) continue;
      const raw = sample.raw as Raw;
      if (cloudTrailShape(raw, RECEIVED_AT_MS) !== "in-order") continue;
      const result = referenceNormalize(raw, { receivedAtMs: RECEIVED_AT_MS, randomUUID: () => "fresh" });
      if (!result.ok) continue;
      // Same keys in the same order: nothing dropped, derived or moved (only redaction and limits may act).
      assert.deepEqual(
        Object.keys(result.record),
        Object.keys(raw),
        `${sample.dataset}/${sample.file}#${sample.index}`,
      );
    }
  },
);

test("isCanonicalEventTime agrees with parseIsoDateTime on CloudTrail's form", () => {
  const received = Date.UTC(2027, 0, 1);
  const cases = [
    "2023-07-19T21:33:41Z",
    "1970-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "0050-06-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2024-02-29T12:00:00Z",
    "2023-02-29T12:00:00Z",
    "2023-04-31T00:00:00Z",
    "2023-13-01T00:00:00Z",
    "2023-00-10T00:00:00Z",
    "2023-01-00T00:00:00Z",
    "2023-01-01T23:59:60Z",
    "2023-01-01T23:60:00Z",
    "2027-01-02T00:00:00Z",
    "2027-01-02T00:00:01Z",
    "2023-01-01T00:00:00.000Z",
    "2023-01-01T00:00:00+00:00",
    "2023-01-01 00:00:00Z",
    "２023-01-01T00:00:00Z",
  ];
  for (let i = 0; i < 2000; i += 1) {
    const digit = (n: number) => String(Math.floor(Math.random() * n));
    cases.push(
      `${digit(10)}${digit(10)}${digit(10)}${digit(10)}-${digit(2)}${digit(10)}-${digit(4)}${digit(10)}T${digit(3)}${digit(10)}:${digit(7)}${digit(10)}:${digit(7)}${digit(10)}Z`,
    );
  }
  for (const text of cases) {
    const ms = parseIsoDateTime(text)?.ms;
    const expected =
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(text) && ms !== undefined && ms <= received + 86_400_000;
    assert.equal(isCanonicalEventTime(text, received), expected, text);
  }
});

/**
 * The one deliberate difference from the old implementation: its gate, a /i regex over the JSON
 * text, did not fold U+212A KELVIN SIGN to `k` as the walk's toLowerCase does, so `secret\u212Aey`
 * skipped redaction. Both paths now run the walk's own name test on every member of the four fields.
 */
test("a secret name written with the Kelvin sign is redacted, as redactSecrets defines it", () => {
  const secretNames = REDACTION_RULES.flatMap((rule) => rule.members.filter((name) => /k/i.test(name)));
  assert.ok(secretNames.length > 5);
  for (const name of secretNames) {
    const kelvin = name.replace(/k/gi, "\u212a");
    const record = {
      eventVersion: "1.08",
      eventTime: "2024-01-01T00:00:00Z",
      eventSource: "example.amazonaws.com",
      eventName: "Example",
      awsRegion: "us-east-1",
      requestParameters: { outer: [{ [kelvin]: "s3cr3t" }] },
      responseElements: null,
      eventID: "e1",
      eventType: "AwsApiCall",
      managementEvent: true,
      eventCategory: "Management",
    };
    assert.equal(cloudTrailShape(record, RECEIVED_AT_MS), "in-order");
    const { fresh, old } = both(record);
    assert.ok(fresh.ok && old.ok);
    assert.equal(fresh.json.includes("s3cr3t"), false, name);
    assert.ok(fresh.json.includes(HIDDEN) || fresh.json.includes(PASSWORD_MASK), name);
    assert.equal(old.json.includes("s3cr3t"), true, `the old gate missed ${name}`);
  }
});
