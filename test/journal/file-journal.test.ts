import assert from "node:assert/strict";
import { appendFile, mkdtemp, readdir, rm, stat, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openFileJournal } from "../../src/journal/file-journal.js";
import type { JournalAppendItem } from "../../src/journal/journal.js";
import { segmentFileName } from "../../src/journal/segment-name.js";

const clock = { nowMs: () => 1_700_000_000_000 };
const directories: string[] = [];

async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "cairn-journal-"));
  directories.push(directory);
  return directory;
}

after(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

function items(prefix: string, count: number): JournalAppendItem[] {
  return Array.from({ length: count }, (_, i) => ({
    json: JSON.stringify({ eventID: `${prefix}-${i}`, requestParameters: { bucketName: "b", key: `k/${i}` } }),
    dedupKey: `${prefix}-${i}`,
  }));
}

describe("FileJournal persistence", () => {
  it("keeps entries, seqs and dedup keys across reopen, over many segments", async () => {
    const directory = await temporaryDirectory();
    const options = { directory, clock, segmentBytesMax: 4096, blockEntriesMax: 8 };
    let journal = await openFileJournal(options);
    for (let i = 0; i < 30; i++) await journal.append(items(`g${i}`, 20));
    await journal.close();
    assert.ok((await readdir(directory)).filter((name) => name.endsWith(".seg")).length > 3);

    journal = await openFileJournal(options);
    assert.equal(journal.headSeq(), 600);
    const again = await journal.append([...items("g3", 2), ...items("new", 1)]);
    assert.deepEqual(again.seqs, [null, null, 601]);
    const all = await journal.read(1, 10_000);
    assert.deepEqual(
      all.map((entry) => entry.seq),
      Array.from({ length: 601 }, (_, i) => i + 1),
    );
    const some = await journal.readMany([1, 299, 600, 601]);
    assert.equal(some.get(299)!.json, items("g14", 20)[18]!.json);
    await journal.close();
  });

  it("rebuilds the dedup set from the journal when SQLite is lost", async () => {
    const directory = await temporaryDirectory();
    let journal = await openFileJournal({ directory, clock });
    await journal.append(items("a", 10));
    await journal.close();
    for (const name of await readdir(directory)) if (name.startsWith("dedup.sqlite")) await rm(join(directory, name));
    journal = await openFileJournal({ directory, clock });
    assert.deepEqual((await journal.append(items("a", 2))).seqs, [null, null]);
    await journal.close();
  });

  it("leaves no dedup WAL behind a flush of pending keys (decision 0027)", async () => {
    const directory = await temporaryDirectory();
    const journal = await openFileJournal({ directory, clock, dedupPendingKeysMax: 100 });
    for (let i = 0; i < 5; i++) await journal.append(items(`w${i}`, 120));
    assert.equal((await stat(join(directory, "dedup.sqlite-wal"))).size, 0, "the WAL was cut after the flush");
    assert.deepEqual((await journal.append(items("w2", 3))).seqs, [null, null, null], "the keys are stored");
    await journal.close();
  });

  it("rescans a sealed segment whose sidecar index is missing", async () => {
    const directory = await temporaryDirectory();
    const options = { directory, clock, segmentBytesMax: 1 };
    let journal = await openFileJournal(options);
    for (let i = 0; i < 3; i++) await journal.append(items(`s${i}`, 5));
    await journal.close();
    await rm(join(directory, "0000000000000001.idx"));
    journal = await openFileJournal(options);
    assert.equal((await journal.readMany([3])).get(3)!.json, items("s0", 5)[2]!.json);
    await journal.close();
  });
});

describe("FileJournal recovery", () => {
  it("drops a torn tail of garbage and keeps appending after it", async () => {
    const directory = await temporaryDirectory();
    let journal = await openFileJournal({ directory, clock });
    await journal.append(items("a", 5));
    await journal.close();
    const segment = join(directory, segmentFileName(1));
    const goodBytes = (await stat(segment)).size;
    await appendFile(segment, Buffer.from("this is not a block header, it is a torn write"));
    journal = await openFileJournal({ directory, clock });
    assert.equal(journal.headSeq(), 5);
    assert.equal((await stat(segment)).size, goodBytes);
    assert.deepEqual((await journal.append(items("b", 1))).seqs, [6]);
    await journal.close();
  });

  it("drops a whole group when its last block is torn, keeping earlier groups", async () => {
    const directory = await temporaryDirectory();
    let journal = await openFileJournal({ directory, clock, blockEntriesMax: 4 });
    await journal.append(items("first", 3));
    const segment = join(directory, segmentFileName(1));
    const firstGroupBytes = (await stat(segment)).size;
    await journal.append(items("second", 10)); // Three blocks, group end on the third.
    await journal.close();
    await truncate(segment, (await stat(segment)).size - 7);
    journal = await openFileJournal({ directory, clock, blockEntriesMax: 4 });
    assert.equal(journal.headSeq(), 3);
    assert.equal((await stat(segment)).size, firstGroupBytes);
    assert.deepEqual((await journal.append(items("second", 2))).seqs, [4, 5], "Keys of a torn group are not known.");
    await journal.close();
  });

  it("recovers a journal truncated to any length", async () => {
    const directory = await temporaryDirectory();
    let journal = await openFileJournal({ directory, clock, blockEntriesMax: 4 });
    const ends: number[] = [];
    const segment = join(directory, segmentFileName(1));
    for (let i = 0; i < 4; i++) {
      await journal.append(items(`t${i}`, 5));
      ends.push((await stat(segment)).size);
    }
    await journal.close();
    for (let cut = ends[3]! - 1; cut > 0; cut -= 97) {
      await truncate(segment, cut);
      journal = await openFileJournal({ directory, clock, blockEntriesMax: 4 });
      const completeGroups = ends.filter((end) => end <= cut).length;
      assert.equal(journal.headSeq(), completeGroups * 5, `cut at ${cut}`);
      assert.equal((await journal.read(1, 100)).length, completeGroups * 5);
      await journal.close();
    }
  });
});
