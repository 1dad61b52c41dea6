import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openFileJournal } from "../../src/journal/file-journal.js";
import { HeadCache } from "../../src/journal/head-cache.js";
import type { JournalAppendItem, JournalEntry } from "../../src/journal/journal.js";
import { SELF_AUDIT_PROVENANCE } from "../../src/model/provenance.js";

const directories: string[] = [];
after(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

let clockMs = 1_700_000_000_000;
const clock = { nowMs: () => (clockMs += 1000) };

/** Groups of different sizes, with and without provenance and dedup keys, one duplicate each. */
function groupOf(index: number): JournalAppendItem[] {
  const items: JournalAppendItem[] = Array.from({ length: 1 + ((index * 7) % 40) }, (_, i) => ({
    json: JSON.stringify({ group: index, item: i, pad: "x".repeat(i * 13) }),
    dedupKey: `k-${index}-${i}`,
    ...(index % 3 === 0
      ? { provenance: { source: "ingest" as const, principalArn: `arn:aws:iam::1:user/u${index}` } }
      : {}),
  }));
  items.push({ json: `{"call":${index}}`, provenance: SELF_AUDIT_PROVENANCE }, { ...items[0]!, json: "{}" });
  return items;
}

/** Every read of [from, from + max) for a spread of positions and sizes. */
async function allReads(read: (from: number, max: number) => Promise<JournalEntry[]>, head: number) {
  const out: JournalEntry[][] = [];
  for (let from = 1; from <= head + 1; from += 5) for (const max of [1, 7, 64, 1000]) out.push(await read(from, max));
  return out;
}

async function filled(
  headCacheCharsMax: number,
): Promise<{ directory: string; head: number; reads: JournalEntry[][] }> {
  const directory = await mkdtemp(join(tmpdir(), "cairn-head-cache-"));
  directories.push(directory);
  clockMs = 1_700_000_000_000;
  const journal = await openFileJournal({ directory, clock, headCacheCharsMax, blockEntriesMax: 8 });
  // Concurrent appends, so that groups hold several requests as under load.
  for (let round = 0; round < 6; round++)
    await Promise.all(Array.from({ length: 4 }, (_, i) => journal.append(groupOf(round * 4 + i))));
  const head = journal.headSeq();
  const reads = await allReads((from, max) => journal.read(from, max), head);
  await journal.close();
  return { directory, head, reads };
}

describe("FileJournal reads at the head (HeadCache)", () => {
  for (const charsMax of [16 * 1024 * 1024, 600]) {
    it(`returns what the files hold, entry for entry (cache of ${charsMax} chars)`, async () => {
      const { directory, head, reads } = await filled(charsMax);
      // The same directory reopened without a cache: every read comes from the blocks on disk.
      const fromFiles = await openFileJournal({ directory, headCacheCharsMax: 0 });
      try {
        assert.equal(fromFiles.headSeq(), head);
        assert.deepEqual(reads, await allReads((from, max) => fromFiles.read(from, max), head));
      } finally {
        await fromFiles.close();
      }
    });
  }
});

describe("HeadCache", () => {
  const entries = (first: number, count: number, chars = 10): JournalEntry[] =>
    Array.from({ length: count }, (_, i) => ({ seq: first + i, appendedAtMs: 1, json: "x".repeat(chars) }));

  it("answers only ranges it holds whole, and drops the oldest groups beyond its bound", () => {
    const cache = new HeadCache(100);
    cache.add(entries(1, 5));
    cache.add(entries(6, 5));
    assert.deepEqual(
      cache.read(3, 8)?.map((e) => e.seq),
      [3, 4, 5, 6, 7, 8],
    );
    assert.equal(cache.read(8, 11), undefined, "past the newest entry");
    cache.add(entries(11, 5)); // 150 chars: the first group goes
    assert.equal(cache.read(5, 6), undefined, "partly dropped");
    assert.deepEqual(
      cache.read(6, 15)?.map((e) => e.seq),
      [6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    );
  });

  it("keeps the newest group even when it alone exceeds the bound, and starts afresh after a gap", () => {
    const cache = new HeadCache(20);
    cache.add(entries(1, 5));
    assert.deepEqual(cache.read(1, 5)?.length, 5);
    cache.add(entries(9, 2));
    assert.equal(cache.read(1, 1), undefined);
    assert.deepEqual(
      cache.read(9, 10)?.map((e) => e.seq),
      [9, 10],
    );
  });
});
