import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Journal, JournalAppendItem } from "../../src/journal/journal.js";

/**
 * The Journal contract (docs/specs/journal.md), run against every implementation. The factory must
 * return an empty journal whose segments (if it has any) hold a single append each, so retention is
 * observable, and whose clock is before 2_000_000_000_000.
 */
export interface JournalUnderTest {
  readonly journal: Journal;
  cleanup(): Promise<void>;
}

export const RETENTION_CUTOFF_MS = 2_000_000_000_000;

function items(prefix: string, count: number, withKeys = true): JournalAppendItem[] {
  return Array.from({ length: count }, (_, i) => ({
    json: JSON.stringify({ eventID: `${prefix}-${i}`, eventName: "GetObject" }),
    ...(withKeys ? { dedupKey: `${prefix}-${i}` } : {}),
  }));
}

export function journalContractSuite(name: string, open: () => Promise<JournalUnderTest>): void {
  async function withJournal(body: (journal: Journal) => Promise<void>): Promise<void> {
    const subject = await open();
    try {
      await body(subject.journal);
    } finally {
      await subject.cleanup();
    }
  }

  describe(`Journal contract: ${name}`, () => {
    it("starts empty", () =>
      withJournal(async (journal) => {
        assert.equal(journal.headSeq(), 0);
        assert.equal(journal.firstSeq(), 1);
        assert.deepEqual(await journal.read(1, 10), []);
        assert.equal((await journal.readMany([1, 2])).size, 0);
      }));

    it("assigns dense seqs from 1 and reads them back in order", () =>
      withJournal(async (journal) => {
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
      withJournal(async (journal) => {
        await journal.append(items("a", 300));
        const found = await journal.readMany([300, 1, 150, 301, 0, 150]);
        assert.deepEqual(
          [...found.keys()].sort((x, y) => x - y),
          [1, 150, 300],
        );
        assert.equal(found.get(150)!.json, items("a", 300)[149]!.json);
        assert.equal(found.get(150)!.seq, 150);
      }));

    it("stores a duplicate key once, across calls and within one call", () =>
      withJournal(async (journal) => {
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
      withJournal(async (journal) => {
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => journal.append([{ json: `{"writer":${i}}`, dedupKey: "same" }])),
        );
        const stored = results.map((result) => result.seqs[0]).filter((seq) => seq !== null);
        assert.equal(stored.length, 1);
        assert.equal(journal.headSeq(), 1);
      }));

    it("keeps concurrent appends atomic and dense", () =>
      withJournal(async (journal) => {
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

    it("wakes waiters on append and on abort", () =>
      withJournal(async (journal) => {
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
      withJournal(async (journal) => {
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
  });
}
