/**
 * normalizeIngestedRecord over every record of the shared CloudTrail samples (4,062 records from
 * real delivery files, exports and fixtures).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { normalizeIngestedRecord, type NormalizeResult } from "../../src/normalize/pipeline.js";
import { recordAccountId } from "../../src/model/record.js";
import { CLOUDTRAIL_FIELD_ORDER } from "../../src/normalize/field-order.js";
import { loadSampleRecords, samplesMissingReason, type SampleRecord } from "./sample-records.js";

const RECEIVED_AT_MS = Date.UTC(2027, 0, 1);
const REAL_DATASETS = [
  "invictus-sigma-aws",
  "otrf-security-datasets",
  "stratus-red-team-detonation-logs",
  "cribl-pack-sample",
  "aws-docs-examples",
];
const KNOWN = new Set<string>(CLOUDTRAIL_FIELD_ORDER);
const skip = samplesMissingReason();

interface Outcome {
  sample: SampleRecord;
  result: NormalizeResult;
}

let cached: Outcome[] | undefined;
function outcomes(): Outcome[] {
  let counter = 0;
  const randomUUID = () => `00000000-0000-4000-8000-${String((counter += 1)).padStart(12, "0")}`;
  cached ??= loadSampleRecords().records.map((sample) => ({
    sample,
    result: normalizeIngestedRecord(sample.raw, { receivedAtMs: RECEIVED_AT_MS, randomUUID }),
  }));
  return cached;
}

function rawObject(sample: SampleRecord): Record<string, unknown> {
  return sample.raw as Record<string, unknown>;
}

/**
 * aws-docs-examples record 10 is the user-guide's userIdentity fragment (only eventVersion and
 * userIdentity): a piece of a record, not a record.
 */
function isDocumentationFragment(sample: SampleRecord): boolean {
  const keys = Object.keys(rawObject(sample));
  return sample.dataset === "aws-docs-examples" && keys.length === 2 && keys.includes("userIdentity");
}

test("the sample set is what the README describes", { skip }, () => {
  const { records, skippedFiles } = loadSampleRecords();
  assert.equal(records.length, 4062);
  assert.deepEqual(skippedFiles.sort(), [
    "aws-docs-examples/digest_example_1.json",
    "aws-docs-examples/digest_example_2.json",
    "panther-analysis-tests/index.json",
    "zmallen-cloudtrail2sightings/aws.execution.ec2-user-data.json",
  ]);
});

test("every record from the real datasets is accepted", { skip }, () => {
  const rejected = outcomes().filter(
    ({ sample, result }) => REAL_DATASETS.includes(sample.dataset) && !result.ok && !isDocumentationFragment(sample),
  );
  assert.deepEqual(
    rejected.map(({ sample, result }) => `${sample.dataset}/${sample.file}#${sample.index}: ${JSON.stringify(result)}`),
    [],
  );
});

test("the documentation fragment is rejected as missing eventTime", { skip }, () => {
  const fragments = outcomes().filter(({ sample }) => isDocumentationFragment(sample));
  assert.equal(fragments.length, 1);
  const result = fragments[0]?.result;
  assert.equal(result?.ok, false);
  assert.equal(!result?.ok && result?.errorCode, "missing_field");
});

test("placeholder eventTimes are rejected with invalid_event_time", { skip }, () => {
  const placeholders = outcomes().filter(({ sample }) =>
    ["eventTime", "...", "redacted"].includes(String(rawObject(sample).eventTime)),
  );
  assert.ok(placeholders.length >= 15, `found ${placeholders.length}`);
  for (const { sample, result } of placeholders) {
    assert.equal(result.ok, false, `${sample.dataset}#${sample.index}`);
    if (!result.ok) {
      assert.equal(result.errorCode, "invalid_event_time");
      assert.match(result.message, /is not a timestamp/);
    }
  }
});

test("accepted records keep eventID, eventTime instant and unknown fields; eventTime is canonical", { skip }, () => {
  for (const { sample, result } of outcomes()) {
    if (!result.ok) continue;
    const raw = rawObject(sample);
    const where = `${sample.dataset}/${sample.file}#${sample.index}`;
    if (raw.eventID !== undefined) assert.equal(result.record.eventID, raw.eventID, where);
    assert.match(result.record.eventTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/, where);
    for (const [key, value] of Object.entries(raw)) {
      if (!KNOWN.has(key)) assert.deepEqual(result.record[key], value, `${where} ${key}`);
    }
    assert.deepEqual(JSON.parse(result.json), result.record, where);
  }
});

test("known fields of the real datasets round-trip unchanged apart from documented repairs", { skip }, () => {
  for (const { sample, result } of outcomes()) {
    if (!result.ok || !["invictus-sigma-aws", "stratus-red-team-detonation-logs"].includes(sample.dataset)) continue;
    // These are unmodified CloudTrail deliveries: normalisation must not change a single value.
    assert.deepEqual(result.record, rawObject(sample), `${sample.file}#${sample.index}`);
  }
});

test("booleans sent as strings are coerced", { skip }, () => {
  let coerced = 0;
  for (const { sample, result } of outcomes()) {
    const raw = rawObject(sample);
    for (const field of ["readOnly", "managementEvent"] as const) {
      if (typeof raw[field] !== "string" || !result.ok) continue;
      assert.equal(result.record[field], String(raw[field]).toLowerCase() === "true");
      coerced += 1;
    }
  }
  assert.ok(coerced >= 410, `coerced ${coerced}`);
});

test("OTRF records take their time from Logstash's @timestamp", { skip }, () => {
  for (const { sample, result } of outcomes()) {
    if (sample.dataset !== "otrf-security-datasets" || !result.ok) continue;
    const stamp = String(rawObject(sample)["@timestamp"]);
    assert.equal(result.record.eventTime, stamp.replace(/\.\d+Z$/, "Z"));
  }
});

test("normalisation is idempotent", { skip }, () => {
  for (const { sample, result } of outcomes()) {
    if (!result.ok) continue;
    const again = normalizeIngestedRecord(JSON.parse(result.json), { receivedAtMs: RECEIVED_AT_MS });
    assert.ok(again.ok, `${sample.dataset}#${sample.index}`);
    assert.equal(again.json, result.json);
    assert.equal(again.dedupKey, result.dedupKey);
  }
});

test("reused eventIDs still give distinct dedup keys for distinct events", { skip }, () => {
  const withIdOne = outcomes().filter(({ result }) => result.ok && result.record.eventID === "1");
  const keys = new Set(withIdOne.map(({ result }) => (result.ok ? result.dedupKey : "")));
  const events = new Set(
    withIdOne.map(({ result }) =>
      result.ok
        ? [
            recordAccountId(result.record),
            result.record.eventTime,
            result.record.eventSource,
            result.record.eventName,
          ].join(" ")
        : "",
    ),
  );
  // Panther's 128 fixtures with eventID "1" are 58 distinct (account, time, source, name) events; eventID
  // alone would collapse them to one. Variants that share all parts are documented as duplicates.
  assert.ok(withIdOne.length > 100);
  assert.equal(keys.size, events.size);
  assert.ok(keys.size > 50);
  const invictus = outcomes().filter(({ sample, result }) => sample.dataset === "invictus-sigma-aws" && result.ok);
  const invictusKeys = new Set(invictus.map(({ result }) => (result.ok ? result.dedupKey : "")));
  assert.equal(invictusKeys.size, new Set(invictus.map(({ sample }) => rawObject(sample).eventID)).size);
});

test("no sample makes the pipeline throw, and fixture datasets are mostly accepted", { skip }, (t) => {
  const byDataset = new Map<string, { accepted: number; rejected: Map<string, number> }>();
  for (const { sample, result } of outcomes()) {
    const entry = byDataset.get(sample.dataset) ?? { accepted: 0, rejected: new Map<string, number>() };
    if (result.ok) entry.accepted += 1;
    else entry.rejected.set(result.errorCode, (entry.rejected.get(result.errorCode) ?? 0) + 1);
    byDataset.set(sample.dataset, entry);
  }
  for (const [dataset, { accepted, rejected }] of byDataset) {
    t.diagnostic(`${dataset}: accepted ${accepted}, rejected ${JSON.stringify(Object.fromEntries(rejected))}`);
  }
  assert.ok((byDataset.get("panther-analysis-tests")?.accepted ?? 0) > 400);
});
