import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openFileJournal, type FileJournal } from "../../src/journal/file-journal.js";
import type { JournalAppendItem } from "../../src/journal/journal.js";
import type { IngestProvenance } from "../../src/model/provenance.js";

/**
 * readMany (an Event history page's records) reads each wanted block once, through the decoded-block
 * cache: every entry comes back exactly, from scattered seqs, neighbours in one block, repeats,
 * entries of very uneven sizes, with and without a cache, with and without provenance.
 */

const clock = { nowMs: () => 1_700_000_000_000 };
const directories: string[] = [];

after(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

async function openJournal(cacheBlocksMax: number): Promise<FileJournal> {
  const directory = await mkdtemp(join(tmpdir(), "cairn-journal-random-read-"));
  directories.push(directory);
  return openFileJournal({ directory, clock, blockEntriesMax: 32, cacheBlocksMax });
}

const ALICE: IngestProvenance = { source: "ingest", principalArn: "arn:aws:iam::111122223333:user/alice" };

/** Record i's JSON: most are ~300 bytes, every 7th carries ~40 KB of varied text (larger than the rest of its block). */
function item(i: number, withProvenance: boolean): JournalAppendItem {
  const filler = i % 7 === 3 ? Array.from({ length: 2_000 }, (_, k) => `${(k * 7919 + i) % 104_729}`).join("-") : "";
  const json = JSON.stringify({
    eventID: `event-${i}`,
    eventTime: "2024-01-01T00:00:00Z",
    eventSource: "iam.amazonaws.com",
    eventName: `Name${i % 13}`,
    requestParameters: { filler, note: "é ✓ 𝄞".repeat(i % 5) },
  });
  return withProvenance && i % 2 === 0
    ? { json, dedupKey: `key-${i}`, provenance: ALICE }
    : { json, dedupKey: `key-${i}` };
}

async function fill(journal: FileJournal, count: number, withProvenance: boolean): Promise<JournalAppendItem[]> {
  const items = Array.from({ length: count }, (_, i) => item(i, withProvenance));
  await journal.append(items);
  return items;
}

/** Deterministic sample of seqs, scattered and in no order, with neighbours in one block and repeats. */
function sampleSeqs(count: number): number[] {
  const seqs: number[] = [];
  let seed = 7;
  for (let k = 0; k < 60; k++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    seqs.push(1 + (seed % count));
  }
  seqs.push(1, 32, 33, count, count, 17, 16);
  return seqs;
}

describe("journal random reads (readMany)", () => {
  for (const withProvenance of [false, true]) {
    it(`returns each wanted entry exactly (blocks ${withProvenance ? "with" : "without"} a provenance section)`, async () => {
      const journal = await openJournal(512);
      try {
        const items = await fill(journal, 300, withProvenance);
        const seqs = sampleSeqs(300);
        const light = await journal.readMany(seqs);
        const full = await journal.readMany([...seqs].reverse());
        const again = await journal.readMany(seqs);
        assert.deepEqual(
          [...light.keys()].sort((a, b) => a - b),
          [...new Set(seqs)].sort((a, b) => a - b),
        );
        for (const seq of seqs) {
          const expected = items[seq - 1]!;
          assert.equal(light.get(seq)?.json, expected.json, `seq ${seq}`);
          assert.equal(again.get(seq)?.json, expected.json, `seq ${seq} from the cache`);
          assert.equal(full.get(seq)?.json, expected.json, `seq ${seq} in reverse order`);
          assert.equal(light.get(seq)?.seq, seq);
          assert.deepEqual(full.get(seq)?.provenance, expected.provenance);
        }
      } finally {
        await journal.close();
      }
    });
  }

  it("reads the same entries with no cache (every read goes to the file)", async () => {
    const journal = await openJournal(0);
    try {
      const items = await fill(journal, 200, true);
      for (const seq of [200, 1, 4, 31, 32, 64, 100, 199]) {
        const got = await journal.readMany([seq]);
        assert.equal(got.get(seq)?.json, items[seq - 1]!.json, `seq ${seq}`);
        assert.deepEqual(got.get(seq)?.provenance, items[seq - 1]!.provenance);
      }
      // The last entry of a block, then an earlier one, then several of the same block at once.
      const many = await journal.readMany([64, 33, 40, 50]);
      for (const seq of [64, 33, 40, 50]) assert.equal(many.get(seq)?.json, items[seq - 1]!.json);
    } finally {
      await journal.close();
    }
  });

  it("leaves seqs that are not stored out of the map", async () => {
    const journal = await openJournal(16);
    try {
      await fill(journal, 40, false);
      const got = await journal.readMany([0, 41, 1_000, -3, 1.5, 40]);
      assert.deepEqual([...got.keys()], [40]);
    } finally {
      await journal.close();
    }
  });
});
