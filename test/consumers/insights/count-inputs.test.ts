import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CountInputs } from "../../../src/consumers/insights/count-inputs.js";
import { countBatch, countInputOf } from "../../../src/consumers/insights/series-counter.js";
import type { JournalAppendItem, JournalEntry } from "../../../src/journal/journal.js";
import { normalizeIngestedRecord } from "../../../src/normalize/pipeline.js";
import { invictusRecords, samplesMissingReason } from "../../helpers/sample-records.js";
import { syntheticArchive } from "../../helpers/synthetic-records.js";

const NOW_MS = Date.UTC(2024, 5, 1, 12, 0, 0);

/** Sample records as the ingest route appends them (the normaliser's text and object), errors and data events among them. */
function ingestedItems(): JournalAppendItem[] {
  const raw: unknown[] = [...syntheticArchive(400)];
  if (samplesMissingReason() === false) raw.push(...invictusRecords());
  const items: JournalAppendItem[] = [];
  raw.forEach((record, i) => {
    const shaped = { ...(record as Record<string, unknown>) };
    if (i % 5 === 0) shaped["errorCode"] = `Error${i % 3}`;
    if (i % 7 === 0) Object.assign(shaped, { eventCategory: "Data", managementEvent: false, readOnly: true });
    const result = normalizeIngestedRecord(shaped, { receivedAtMs: NOW_MS });
    if (result.ok) items.push({ json: result.json, record: result.record });
  });
  return items;
}

const entriesOf = (items: readonly JournalAppendItem[], firstSeq: number): JournalEntry[] =>
  items.map((item, i) => ({ seq: firstSeq + i, appendedAtMs: 0, json: item.json }));

describe("Insights count inputs read from the records ingest parsed (decision 0020, third slice)", () => {
  it("count what parsing the stored text counts, a call's own record (no parsed record) parsed as before", () => {
    const items = ingestedItems();
    assert.ok(items.length >= 400);
    for (const item of items) assert.deepEqual(countInputOf(item.record), countInputOf(JSON.parse(item.json)));
    // Every tenth appended without its record, as a call's own record is; one not even a record.
    const mixed = items.map((item, i) => (i % 10 === 3 ? { json: item.json } : item));
    mixed.push({ json: "not json" }, { json: JSON.stringify({ eventType: "AwsCloudTrailInsight" }) });
    const inputs = new CountInputs(100_000);
    inputs.add({ firstSeq: 11, appendedAtMs: 0, items: mixed });
    const entries = entriesOf(mixed, 11);
    const parsed = countBatch(entries, NOW_MS);
    assert.deepEqual(countBatch(entries, NOW_MS, inputs.known), parsed);
    assert.ok(parsed.counts.some((count) => count.key.eventCategory === "Data"));
    assert.ok(parsed.counts.some((count) => count.key.insightType === "ApiErrorRateInsight"));
    assert.equal(inputs.known(14), undefined, "appended without its record: left to the consumer");
    assert.notEqual(inputs.known(12), undefined);
  });

  it("hold a seq until it is counted, at most so many entries, and start afresh after a gap", () => {
    const items = ingestedItems().slice(0, 30);
    const inputs = new CountInputs(25);
    inputs.add({ firstSeq: 1, appendedAtMs: 0, items: items.slice(0, 10) });
    inputs.add({ firstSeq: 11, appendedAtMs: 0, items: items.slice(10, 20) });
    assert.deepEqual(inputs.known(5), countInputOf(items[4]!.record));
    assert.equal(inputs.known(21), undefined);
    inputs.release(12);
    assert.equal(inputs.known(5), undefined, "counted: forgotten");
    assert.notEqual(inputs.known(12), undefined, "its group is not wholly counted yet");
    inputs.add({ firstSeq: 21, appendedAtMs: 0, items: items.slice(20, 30) });
    inputs.add({ firstSeq: 31, appendedAtMs: 0, items: items.slice(0, 10) });
    assert.equal(inputs.known(15), undefined, "more than 25 held: the oldest group dropped");
    assert.notEqual(inputs.known(35), undefined);
    inputs.add({ firstSeq: 50, appendedAtMs: 0, items: items.slice(0, 1) });
    assert.equal(inputs.known(35), undefined, "a group that does not follow: afresh");
    assert.notEqual(inputs.known(50), undefined);
  });
});
