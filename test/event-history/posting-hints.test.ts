import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  derivedEntries,
  NOT_EVENT_HISTORY,
  UNPARSABLE,
  type DerivedRange,
} from "../../src/consumers/event-history/derived-postings.js";
import { postingRowsOf, recordPostings } from "../../src/consumers/event-history/lookup-pages.js";
import { PostingHints } from "../../src/consumers/event-history/posting-hints.js";
import type { AppendedGroup, JournalAppendItem, JournalEntry } from "../../src/journal/journal.js";
import { normalizeIngestedRecord } from "../../src/normalize/pipeline.js";
import {
  invictusRecords,
  samplesMissingReason,
  seedExample,
  seedExampleFiles,
  seedExamplesMissingReason,
} from "../helpers/sample-records.js";
import { syntheticArchive } from "../helpers/synthetic-records.js";

const RECEIVED_AT_MS = Date.UTC(2024, 5, 1, 12, 0, 0);

/** Every record the shared data holds (real archives and the AWS pages' examples), else synthetic ones. */
function rawRecords(): unknown[] {
  const records: unknown[] = [...syntheticArchive(500)];
  if (samplesMissingReason() === false) records.push(...invictusRecords());
  if (seedExamplesMissingReason() === false) for (const file of seedExampleFiles()) records.push(seedExample(file));
  return records;
}

/** What the ingest route appends: the normaliser's text with the object it serialised. */
function ingestedItems(): JournalAppendItem[] {
  const items: JournalAppendItem[] = [];
  for (const raw of rawRecords()) {
    const result = normalizeIngestedRecord(raw, { receivedAtMs: RECEIVED_AT_MS });
    if (result.ok) items.push({ json: result.json, record: result.record });
  }
  return items;
}

const counters = () => ({ indexed: 0, notEventHistory: 0, expired: 0, unparsable: 0 });

/** The rows the worker derives from the journal's text, and those it gets from the server thread's derivation. */
function rowsBothWays(items: readonly JournalAppendItem[], firstSeq: number, cutoff: number) {
  const fromText = counters();
  const entries: JournalEntry[] = items.map((item, i) => ({ seq: firstSeq + i, appendedAtMs: 7, json: item.json }));
  const textRows = postingRowsOf(entries, cutoff, fromText);
  const hints = new PostingHints(1_000_000);
  hints.add({ firstSeq, appendedAtMs: 7, items });
  const range = hints.range(firstSeq, firstSeq + items.length - 1);
  assert.ok(range !== undefined, "every entry derived");
  const fromHints = counters();
  const derived = derivedEntries(range);
  const hintRows = postingRowsOf(derived, cutoff, fromHints);
  return { textRows, hintRows, fromText, fromHints, derived };
}

describe("postings derived on the server thread (decision 0020, third slice)", () => {
  it("are those the worker derives from the stored text, for every sample record the normaliser accepts", () => {
    const items = ingestedItems();
    assert.ok(items.length >= 500, `${items.length} records`);
    for (const item of items) assert.deepEqual(recordPostings(item.record), recordPostings(JSON.parse(item.json)));
    // Through packing, the range and the worker's entries, with retention cutting some off.
    const times = items.map((item) => recordPostings(item.record)).filter((p) => typeof p !== "string");
    const cutoff = [...times.map((p) => p.time)].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    const { textRows, hintRows, fromText, fromHints, derived } = rowsBothWays(items, 41, cutoff);
    assert.deepEqual(hintRows, textRows);
    assert.deepEqual(fromHints, fromText);
    assert.ok(fromText.expired > 0 && textRows.length > 0);
    assert.deepEqual(
      derived.map((entry) => [entry.seq, entry.appendedAtMs]),
      items.map((_, i) => [41 + i, 7]),
    );
  });

  it("parse an item that carries no record, and count what Event history does not keep as the worker does", () => {
    const items: JournalAppendItem[] = [
      { json: "not json" },
      { json: JSON.stringify({ eventTime: "not a time" }) },
      { json: JSON.stringify({ eventTime: "2024-06-01T11:00:00Z", eventCategory: "Data", eventName: "GetObject" }) },
      ...ingestedItems()
        .slice(0, 3)
        .map((item) => ({ json: item.json })),
    ];
    assert.equal(recordPostings(undefined), UNPARSABLE);
    assert.equal(recordPostings(JSON.parse(items[2]!.json)), NOT_EVENT_HISTORY);
    const { textRows, hintRows, fromText, fromHints } = rowsBothWays(items, 1, 0);
    assert.deepEqual(hintRows, textRows);
    assert.deepEqual(fromHints, fromText);
    assert.deepEqual(fromText, { indexed: 0, notEventHistory: 1, expired: 0, unparsable: 2 });
    assert.equal(textRows.length, 3);
  });

  it("serve only ranges held whole: not past either end, not across a group it could not derive", () => {
    const items = ingestedItems().slice(0, 30);
    const hints = new PostingHints(25);
    const group = (firstSeq: number, part: JournalAppendItem[]): AppendedGroup => ({
      firstSeq,
      appendedAtMs: firstSeq,
      items: part,
    });
    hints.add(group(1, items.slice(0, 10)));
    hints.add(group(11, items.slice(10, 20)));
    assert.equal(hints.range(0, 5), undefined);
    assert.equal(hints.range(15, 21), undefined);
    const across = hints.range(8, 13)!;
    assert.deepEqual(
      derivedEntries(across).map((entry) => [entry.seq, entry.appendedAtMs]),
      [
        [8, 1],
        [9, 1],
        [10, 1],
        [11, 11],
        [12, 11],
        [13, 11],
      ],
    );
    // A record whose fields cannot be derived (a null userIdentity) leaves its group to the blocks.
    const refused = { ...(items[20]!.record as Record<string, unknown>), userIdentity: null };
    hints.add(group(21, [items[20]!, { json: JSON.stringify(refused) }]));
    assert.equal(hints.range(20, 21), undefined);
    assert.ok(hints.range(12, 20) !== undefined);
    // Bounded: the oldest group goes once more than 25 entries are held.
    hints.add(group(23, items.slice(22, 30)));
    assert.equal(hints.range(10, 12), undefined);
    assert.ok(hints.range(11, 20) !== undefined);
    // A group that does not follow the last one (a journal that recovered) starts afresh.
    hints.add(group(40, items.slice(0, 2)));
    assert.equal(hints.range(25, 26), undefined);
    assert.equal(derivedEntries(hints.range(40, 41)!).length, 2);
  });

  it("keep no text for the entries they hand over: reading it is an error, never an empty record", () => {
    const hints = new PostingHints(10);
    hints.add({ firstSeq: 1, appendedAtMs: 0, items: ingestedItems().slice(0, 1) });
    const range: DerivedRange = hints.range(1, 1)!;
    const [entry] = derivedEntries(range);
    assert.throws(() => entry!.json, /indexed from the server thread's derivation/);
  });
});
