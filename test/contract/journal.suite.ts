import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  SliceReader,
  type Journal,
  type JournalAppendItem,
  type JournalEntry,
  type JournalSlice,
} from "../../src/journal/index.js";
import type { IngestProvenance } from "../../src/model/provenance.js";

/**
 * The Journal contract (docs/specs/journal.md), run against every implementation. The factory must
 * return an empty journal whose unit of retention (a segment, if it has any) holds a single append,
 * so retention is observable, and whose clock is before 2_000_000_000_000.
 */
export interface JournalUnderTest {
  readonly journal: Journal;
  cleanup(): Promise<void>;
}

type OpenJournal = () => Promise<JournalUnderTest>;

const RETENTION_CUTOFF_MS = 2_000_000_000_000;

function items(prefix: string, count: number, withKeys = true): JournalAppendItem[] {
  return Array.from({ length: count }, (_, i) => ({
    json: JSON.stringify({ eventID: `${prefix}-${i}`, eventName: "GetObject" }),
    ...(withKeys ? { dedupKey: `${prefix}-${i}` } : {}),
  }));
}

/** A slice as the event-history worker receives it: structured-cloned, then read with a SliceReader of its own. */
async function readSlice(slice: JournalSlice): Promise<JournalEntry[]> {
  const reader = new SliceReader();
  try {
    return await reader.read(structuredClone(slice));
  } finally {
    reader.close();
  }
}

/** Several appends of different sizes, so ranges cross block and segment boundaries: 1 + 300 + 5×7 entries. */
async function appendMixed(journal: Journal): Promise<void> {
  await journal.append(items("one", 1));
  await journal.append(items("bulk", 300));
  for (let i = 0; i < 5; i++) await journal.append(items(`small${i}`, 7));
}

export function journalContractSuite(name: string, open: OpenJournal): void {
  describe(`Journal contract: ${name}`, () => {
    appendAndReadTests(open);
    deduplicationTests(open);
    waitAndRetentionTests(open);
    sliceTests(open);
    sliceBoundaryTests(open);
    provenanceTests(open);
  });
}

async function withJournal(open: OpenJournal, body: (journal: Journal) => Promise<void>): Promise<void> {
  const subject = await open();
  try {
    await body(subject.journal);
  } finally {
    await subject.cleanup();
  }
}

function appendAndReadTests(open: OpenJournal): void {
  it("starts empty", () =>
    withJournal(open, async (journal) => {
      assert.equal(journal.headSeq(), 0);
      assert.equal(journal.firstSeq(), 1);
      assert.deepEqual(await journal.read(1, 10), []);
      assert.equal((await journal.readMany([1, 2])).size, 0);
    }));

  it("checks that it can write without appending anything", () =>
    withJournal(open, async (journal) => {
      await journal.checkWritable();
      await journal.append([{ json: '{"n":1}' }]);
      await journal.checkWritable();
      assert.equal(journal.headSeq(), 1);
      assert.equal((await journal.read(1, 10)).length, 1);
    }));

  it("assigns dense seqs from 1 and reads them back in order", () =>
    withJournal(open, async (journal) => {
      const first = await journal.append(items("a", 3));
      const second = await journal.append(items("b", 2));
      assert.deepEqual(first.seqs, [1, 2, 3]);
      assert.deepEqual(second.seqs, [4, 5]);
      assert.equal(journal.headSeq(), 5);
      const all = await journal.read(1, 100);
      assert.deepEqual(
        all.map((entry) => entry.seq),
        [1, 2, 3, 4, 5],
      );
      assert.equal(all[3]!.json, items("b", 1)[0]!.json);
      assert.deepEqual(
        (await journal.read(2, 2)).map((entry) => entry.seq),
        [2, 3],
      );
      assert.deepEqual(await journal.read(6, 10), []);
    }));

  it("reads random seqs with readMany and leaves unknown seqs out", () =>
    withJournal(open, async (journal) => {
      await journal.append(items("a", 300));
      const found = await journal.readMany([300, 1, 150, 301, 0, 150]);
      assert.deepEqual(
        [...found.keys()].sort((x, y) => x - y),
        [1, 150, 300],
      );
      assert.equal(found.get(150)!.json, items("a", 300)[149]!.json);
      assert.equal(found.get(150)!.seq, 150);
    }));
}

function deduplicationTests(open: OpenJournal): void {
  it("stores a duplicate key once, across calls and within one call", () =>
    withJournal(open, async (journal) => {
      await journal.append([{ json: '{"n":1}', dedupKey: "k1" }]);
      const result = await journal.append([
        { json: '{"n":2}', dedupKey: "k1" },
        { json: '{"n":3}', dedupKey: "k2" },
        { json: '{"n":4}', dedupKey: "k2" },
        { json: '{"n":5}' },
        { json: '{"n":5}' },
      ]);
      assert.deepEqual(result.seqs, [null, 2, null, 3, 4]);
      assert.equal(journal.headSeq(), 4);
    }));

  it("stores exactly one of two concurrent appends of the same key", () =>
    withJournal(open, async (journal) => {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => journal.append([{ json: `{"writer":${i}}`, dedupKey: "same" }])),
      );
      const stored = results.map((result) => result.seqs[0]).filter((seq) => seq !== null);
      assert.equal(stored.length, 1);
      assert.equal(journal.headSeq(), 1);
    }));

  it("keeps concurrent appends atomic and dense", () =>
    withJournal(open, async (journal) => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => journal.append(items(`w${i}`, 50))));
      const seqs = results.flatMap((result) => result.seqs as number[]).sort((a, b) => a - b);
      assert.deepEqual(
        seqs,
        Array.from({ length: 1000 }, (_, i) => i + 1),
      );
      for (const result of results) {
        const mine = result.seqs as number[];
        assert.deepEqual(
          mine,
          mine.map((_, i) => mine[0]! + i),
        );
      }
    }));
}

function waitAndRetentionTests(open: OpenJournal): void {
  it("wakes waiters on append and on abort", () =>
    withJournal(open, async (journal) => {
      const woken = journal.waitForAppend(0);
      await journal.append(items("a", 1));
      await woken;
      await journal.waitForAppend(0);
      const controller = new AbortController();
      const aborted = journal.waitForAppend(1, controller.signal);
      controller.abort();
      await aborted;
      assert.equal(journal.headSeq(), 1);
    }));

  it("deletes only entries below the seq and age bounds", () =>
    withJournal(open, async (journal) => {
      for (let i = 0; i < 20; i++) await journal.append(items(`r${i}`, 1));
      assert.equal(await journal.deleteBefore(11, 0), 0);
      assert.equal(journal.firstSeq(), 1);
      const deleted = await journal.deleteBefore(11, RETENTION_CUTOFF_MS);
      const firstSeq = journal.firstSeq();
      assert.ok(firstSeq > 1, "Something is deleted.");
      assert.ok(firstSeq <= 11, "Nothing at or after beforeSeq is deleted.");
      assert.equal(deleted, firstSeq - 1);
      assert.equal((await journal.read(1, 100))[0]!.seq, firstSeq);
      assert.equal((await journal.readMany([1, 11])).has(1), false);
      assert.equal((await journal.readMany([1, 11])).has(11), true);
      assert.equal(journal.headSeq(), 20);
    }));
}

/** Journal.slice, read as the event-history worker reads it. */
function sliceTests(open: OpenJournal): void {
  it("slices that a SliceReader reads back as read() does", () =>
    withJournal(open, async (journal) => {
      await appendMixed(journal);
      assert.equal(journal.headSeq(), 336);
      for (const [fromSeq, maxEntries] of [
        [1, 1000],
        [1, 1],
        [2, 16],
        [17, 17],
        [100, 50],
        [290, 20],
        [301, 36],
        [336, 5],
      ] as const) {
        const slice = journal.slice(fromSeq, maxEntries);
        const expected = await journal.read(fromSeq, maxEntries);
        assert.deepEqual(await readSlice(slice), expected, `slice(${fromSeq}, ${maxEntries})`);
        assert.equal(slice.start, fromSeq);
        assert.equal(slice.end, expected.at(-1)!.seq);
      }
    }));

  it("slices clamped to firstSeq and headSeq", () =>
    withJournal(open, async (journal) => {
      await appendMixed(journal);
      const fromZero = journal.slice(0, 10);
      assert.equal(fromZero.start, 1);
      assert.deepEqual(
        (await readSlice(fromZero)).map((entry) => entry.seq),
        Array.from({ length: 10 }, (_, i) => i + 1),
      );
      const pastHead = journal.slice(330, 100);
      assert.equal(pastHead.end, 336);
      assert.deepEqual(await readSlice(pastHead), await journal.read(330, 100));
    }));
}

/** Journal.slice at the ends of what is stored. */
function sliceBoundaryTests(open: OpenJournal): void {
  it("slices nothing on an empty journal and past the head", () =>
    withJournal(open, async (journal) => {
      const empty = journal.slice(1, 10);
      assert.ok(empty.start > empty.end, JSON.stringify(empty));
      assert.deepEqual(await readSlice(empty), []);
      await journal.append(items("a", 3));
      for (const fromSeq of [4, 5, 1000]) {
        const slice = journal.slice(fromSeq, 10);
        assert.ok(slice.start > slice.end, JSON.stringify(slice));
        assert.deepEqual(await readSlice(slice), []);
      }
    }));

  it("slices only what was durable when the slice was taken", () =>
    withJournal(open, async (journal) => {
      await journal.append(items("a", 5));
      const slice = journal.slice(1, 100);
      await journal.append(items("b", 5));
      assert.equal(slice.end, 5);
      assert.deepEqual(
        (await readSlice(slice)).map((entry) => entry.seq),
        [1, 2, 3, 4, 5],
      );
    }));

  it("slices from firstSeq after retention", () =>
    withJournal(open, async (journal) => {
      for (let i = 0; i < 20; i++) await journal.append(items(`r${i}`, 1));
      await journal.deleteBefore(11, RETENTION_CUTOFF_MS);
      const firstSeq = journal.firstSeq();
      assert.ok(firstSeq > 1);
      for (const [fromSeq, maxEntries] of [
        [1, 100],
        [1, 3],
        [firstSeq, 2],
        [15, 100],
      ] as const) {
        const slice = journal.slice(fromSeq, maxEntries);
        assert.equal(slice.start, Math.max(fromSeq, firstSeq));
        assert.deepEqual(
          await readSlice(slice),
          await journal.read(fromSeq, maxEntries),
          `slice(${fromSeq}, ${maxEntries})`,
        );
      }
    }));
}

const ALICE: IngestProvenance = {
  source: "ingest",
  principalArn: "arn:aws:iam::111122223333:user/alice",
  accessKeyId: "AKIAALICE0000000001",
};
const BOB: IngestProvenance = {
  source: "put-audit-events",
  principalArn: "arn:aws:iam::111122223333:user/bob",
  accessKeyId: "AKIABOB00000000000001",
  channelArn: "arn:aws:cloudtrail:us-east-1:111122223333:channel/c-1",
};

function withProvenance(list: JournalAppendItem[], provenance: IngestProvenance): JournalAppendItem[] {
  return list.map((item) => ({ ...item, provenance }));
}

/** Per seq, who the test says ingested it: 1-40 Alice, 41-70 nobody, 71-300 Bob, 301-336 alternating. */
async function appendWithProvenance(journal: Journal): Promise<Map<number, IngestProvenance | undefined>> {
  const expected = new Map<number, IngestProvenance | undefined>();
  const note = (seqs: ReadonlyArray<number | null>, provenance: IngestProvenance | undefined): void => {
    for (const seq of seqs) if (seq !== null) expected.set(seq, provenance);
  };
  note((await journal.append(withProvenance(items("p-alice", 40), ALICE))).seqs, ALICE);
  note((await journal.append(items("p-none", 30))).seqs, undefined);
  note((await journal.append(withProvenance(items("p-bob", 230), BOB))).seqs, BOB);
  for (let i = 0; i < 36; i++) {
    const provenance = [ALICE, BOB, undefined][i % 3];
    const item = items(`p-mixed${i}`, 1)[0]!;
    note((await journal.append([provenance === undefined ? item : { ...item, provenance }])).seqs, provenance);
  }
  return expected;
}

function assertProvenance(
  entries: Iterable<JournalEntry>,
  expected: ReadonlyMap<number, IngestProvenance | undefined>,
  where: string,
): void {
  let count = 0;
  for (const entry of entries) {
    assert.deepEqual(entry.provenance, expected.get(entry.seq), `${where}: seq ${entry.seq}`);
    count++;
  }
  assert.ok(count > 0, `${where}: entries were read`);
}

/** The envelope: who ingested each entry, kept next to its record and never inside it. */
function provenanceTests(open: OpenJournal): void {
  it("hands each entry's provenance back with it through read, readMany and slices", () =>
    withJournal(open, async (journal) => {
      const expected = await appendWithProvenance(journal);
      assert.equal(journal.headSeq(), 336);
      const all = await journal.read(1, 1000);
      assertProvenance(all, expected, "read");
      assert.equal(all[0]!.json, items("p-alice", 1)[0]!.json, "the record is stored as sent");
      assert.equal(all[40]!.provenance, undefined);
      assertProvenance(
        (await journal.readMany([1, 40, 41, 70, 71, 300, 301, 302, 303, 336])).values(),
        expected,
        "readMany",
      );
      for (const [fromSeq, maxEntries] of [
        [1, 1000],
        [35, 10],
        [290, 20],
        [301, 36],
      ] as const)
        assertProvenance(
          await readSlice(journal.slice(fromSeq, maxEntries)),
          expected,
          `slice(${fromSeq}, ${maxEntries})`,
        );
    }));

  it("keeps the first provenance of a de-duplicated record", () =>
    withJournal(open, async (journal) => {
      await journal.append([{ json: '{"n":1}', dedupKey: "k1", provenance: ALICE }]);
      const again = await journal.append([
        { json: '{"n":1}', dedupKey: "k1", provenance: BOB },
        { json: '{"n":2}', dedupKey: "k2", provenance: BOB },
      ]);
      assert.deepEqual(again.seqs, [null, 2]);
      const entries = await journal.read(1, 10);
      assert.deepEqual(
        entries.map((entry) => entry.provenance),
        [ALICE, BOB],
      );
    }));

  it("keeps the provenance of the entries retention leaves", () =>
    withJournal(open, async (journal) => {
      for (let i = 0; i < 20; i++) await journal.append(withProvenance(items(`rp${i}`, 1), i % 2 === 0 ? ALICE : BOB));
      await journal.deleteBefore(11, RETENTION_CUTOFF_MS);
      const left = await journal.read(1, 100);
      assert.ok(left.length < 20 && left.length >= 10);
      for (const entry of left) assert.deepEqual(entry.provenance, (entry.seq - 1) % 2 === 0 ? ALICE : BOB);
    }));
}
