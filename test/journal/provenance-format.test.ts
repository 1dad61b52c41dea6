import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { crc32, deflateRawSync, inflateRawSync } from "node:zlib";
import { blockDictionary, DICTIONARY_CLOUDTRAIL_1 } from "../../src/journal/block-dictionary.js";
import { decodePayload, HEADER_BYTES, parseHeader } from "../../src/journal/block-format.js";
import { hashDedupKey } from "../../src/journal/dedup-store.js";
import { openFileJournal } from "../../src/journal/file-journal.js";
import { JournalInvariantError } from "../../src/journal/invariant.js";
import type { JournalAppendItem } from "../../src/journal/journal.js";
import { segmentFileName } from "../../src/journal/segment-name.js";
import type { IngestProvenance } from "../../src/model/provenance.js";

const clock = { nowMs: () => 1_700_000_000_000 };
const directories: string[] = [];

async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "cairn-journal-provenance-"));
  directories.push(directory);
  return directory;
}

after(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

function records(prefix: string, count: number): JournalAppendItem[] {
  return Array.from({ length: count }, (_, i) => ({
    json: JSON.stringify({
      eventVersion: "1.08",
      userIdentity: { type: "Root", principalId: "111122223333", arn: "arn:aws:iam::111122223333:root" },
      eventTime: "2024-01-01T00:00:00Z",
      eventSource: "iam.amazonaws.com",
      eventName: "CreateAccessKey",
      awsRegion: "us-east-1",
      eventID: `${prefix}-${i}`,
      recipientAccountId: "111122223333",
    }),
    dedupKey: `${prefix}-${i}`,
  }));
}

const MALLORY: IngestProvenance = {
  source: "ingest",
  principalArn: "arn:aws:iam::111122223333:user/mallory",
  accessKeyId: "AKIAMALLORY000000001",
};

/**
 * The block format as it was before provenance existed, written here by hand from its description
 * (docs/specs/journal.md at that time), independently of block-format.ts: a 40-byte header with
 * flags bit 0 only, and a payload of key flags, key hashes, u32 lengths and the JSON texts.
 */
function oldFormatBlock(items: readonly JournalAppendItem[], firstSeq: number, groupEnd: boolean): Buffer {
  const hashes = items.map((item) => (item.dedupKey === undefined ? null : hashDedupKey(item.dedupKey)));
  const texts = items.map((item) => Buffer.from(item.json, "utf8"));
  const lengths = Buffer.alloc(4 * items.length);
  texts.forEach((text, i) => lengths.writeUInt32LE(text.length, 4 * i));
  const payload = Buffer.concat([
    Buffer.from(hashes.map((hash) => (hash === null ? 0 : 1))),
    ...hashes.filter((hash) => hash !== null),
    lengths,
    ...texts,
  ]);
  const compressed = deflateRawSync(payload, { level: 6, dictionary: blockDictionary(DICTIONARY_CLOUDTRAIL_1)! });
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(0x4e524a43, 0);
  header.writeUInt8(1, 4);
  header.writeUInt8(groupEnd ? 1 : 0, 5);
  header.writeUInt8(DICTIONARY_CLOUDTRAIL_1, 6);
  header.writeBigUInt64LE(BigInt(firstSeq), 8);
  header.writeUInt32LE(items.length, 16);
  header.writeBigUInt64LE(BigInt(clock.nowMs()), 20);
  header.writeUInt32LE(payload.length, 28);
  header.writeUInt32LE(compressed.length, 32);
  header.writeUInt32LE(crc32(compressed, crc32(header.subarray(0, 36))), 36);
  return Buffer.concat([header, compressed]);
}

/** A journal directory holding one old-format segment: a group of two blocks (1-4, 5-6), then one of one (7-9). */
async function oldJournal(): Promise<{
  directory: string;
  segment: string;
  bytes: Buffer;
  items: JournalAppendItem[];
}> {
  const directory = await temporaryDirectory();
  const items = records("old", 9);
  const bytes = Buffer.concat([
    oldFormatBlock(items.slice(0, 4), 1, false),
    oldFormatBlock(items.slice(4, 6), 5, true),
    oldFormatBlock(items.slice(6, 9), 7, true),
  ]);
  const segment = join(directory, segmentFileName(1));
  await writeFile(segment, bytes);
  return { directory, segment, bytes, items };
}

/** Each block of a segment: its header flags byte and whether it carries a provenance section. */
async function blockFlags(segment: string): Promise<number[]> {
  const bytes = await readFile(segment);
  const flags: number[] = [];
  for (let at = 0; at + HEADER_BYTES <= bytes.length;) {
    const header = parseHeader(bytes.subarray(at, at + HEADER_BYTES));
    assert.ok(header !== null, `block header at ${at}`);
    flags.push(bytes.readUInt8(at + 5));
    at += HEADER_BYTES + header.compressedBytes;
  }
  return flags;
}

describe("Journal provenance on disk", () => {
  it("reads a journal written in the format before provenance, and appends after it", async () => {
    const { directory, segment, bytes, items } = await oldJournal();
    let journal = await openFileJournal({ directory, clock, blockEntriesMax: 4 });
    assert.equal(journal.headSeq(), 9);
    const old = await journal.read(1, 100);
    assert.deepEqual(
      old.map((entry) => entry.json),
      items.map((item) => item.json),
    );
    assert.ok(old.every((entry) => entry.provenance === undefined && !("provenance" in entry)));
    assert.deepEqual((await journal.append(records("old", 9))).seqs, Array(9).fill(null), "old keys are known");
    const fresh = records("new", 6).map((item) => ({ ...item, provenance: MALLORY }));
    assert.deepEqual((await journal.append(fresh)).seqs, [10, 11, 12, 13, 14, 15]);
    await journal.close();

    const after = await readFile(segment);
    assert.deepEqual(after.subarray(0, bytes.length), bytes, "the old blocks are untouched");
    assert.deepEqual(await blockFlags(segment), [0, 1, 1, 2, 3]);

    // Reopen without the dedup store: the replay decodes both formats.
    for (const name of ["dedup.sqlite", "dedup.sqlite-wal", "dedup.sqlite-shm"])
      await rm(join(directory, name), { force: true });
    journal = await openFileJournal({ directory, clock, blockEntriesMax: 4 });
    const all = await journal.read(1, 100);
    assert.deepEqual(
      all.map((entry) => entry.json),
      [...items, ...fresh].map((item) => item.json),
    );
    assert.deepEqual(
      all.map((entry) => entry.provenance?.principalArn),
      [...Array(9).fill(undefined), ...Array(6).fill(MALLORY.principalArn)],
    );
    assert.deepEqual((await journal.readMany([3, 12])).get(12)!.provenance, MALLORY);
    assert.deepEqual((await journal.append(fresh.slice(0, 1))).seqs, [null], "new keys are known");
    await journal.close();
  });

  it("writes a block whose entries have no provenance exactly as the old format", async () => {
    const { bytes, items } = await oldJournal();
    const directory = await temporaryDirectory();
    const journal = await openFileJournal({ directory, clock, blockEntriesMax: 4 });
    await journal.append(items.slice(0, 6));
    await journal.append(items.slice(6));
    await journal.close();
    assert.deepEqual(await readFile(join(directory, segmentFileName(1))), bytes);
  });

  it("cuts a torn provenance group behind old-format groups, and nothing else", async () => {
    const { directory, segment, bytes, items } = await oldJournal();
    let journal = await openFileJournal({ directory, clock, blockEntriesMax: 4 });
    await journal.append(records("new", 10).map((item) => ({ ...item, provenance: MALLORY })));
    await journal.close();
    const ends = (await stat(segment)).size;
    for (let cut = ends - 1; cut > bytes.length; cut -= 37) {
      await truncate(segment, cut);
      journal = await openFileJournal({ directory, clock, blockEntriesMax: 4 });
      assert.equal(journal.headSeq(), 9, `cut at ${cut}`);
      assert.equal((await stat(segment)).size, bytes.length);
      assert.equal((await journal.readMany([9])).get(9)!.json, items[8]!.json);
      await journal.close();
    }
  });

  it("stores hundreds of distinct values in one block (two-byte indexes)", async () => {
    const directory = await temporaryDirectory();
    const journal = await openFileJournal({ directory, clock, blockEntriesMax: 1024 });
    const batch = records("many", 600).map((item, i) =>
      i % 2 === 1 ? item : { ...item, provenance: { ...MALLORY, accessKeyId: `AKIA${String(i).padStart(16, "0")}` } },
    );
    await journal.append(batch);
    const all = await journal.read(1, 1000);
    assert.equal(all.length, 600);
    for (const [i, entry] of all.entries()) assert.deepEqual(entry.provenance, batch[i]!.provenance, `entry ${i}`);
    await journal.close();
    const file = await readFile(join(directory, segmentFileName(1)));
    const header = parseHeader(file.subarray(0, HEADER_BYTES))!;
    assert.equal(header.entryCount, 600, "one block");
    assert.equal(header.hasProvenance, true);
  });

  it("costs a few bytes per entry on disk when one caller ingests a batch", async () => {
    const sizes: number[] = [];
    for (const provenance of [undefined, MALLORY]) {
      const directory = await temporaryDirectory();
      const journal = await openFileJournal({ directory, clock });
      const batch = records("size", 1024).map((item) => (provenance === undefined ? item : { ...item, provenance }));
      await journal.append(batch);
      await journal.close();
      sizes.push((await stat(join(directory, segmentFileName(1)))).size);
    }
    const perEntry = (sizes[1]! - sizes[0]!) / 1024;
    assert.ok(perEntry > 0 && perEntry < 4, `${perEntry.toFixed(2)} bytes per entry (${sizes.join(" vs ")})`);
  });

  it("fails loudly, not silently, where a reader ignores the provenance flag (an older build)", async () => {
    const directory = await temporaryDirectory();
    const journal = await openFileJournal({ directory, clock });
    await journal.append(records("flagged", 3).map((item) => ({ ...item, provenance: MALLORY })));
    await journal.close();
    const file = await readFile(join(directory, segmentFileName(1)));
    const header = parseHeader(file.subarray(0, HEADER_BYTES))!;
    const payload = inflateRawSync(file.subarray(HEADER_BYTES, HEADER_BYTES + header.compressedBytes), {
      dictionary: blockDictionary(header.dictionaryId)!,
    });
    assert.equal(decodePayload(payload, 3, true)[2]!.provenance!.accessKeyId, MALLORY.accessKeyId);
    assert.throws(() => decodePayload(payload, 3, false), JournalInvariantError);
  });
});
