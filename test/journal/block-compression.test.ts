import assert from "node:assert/strict";
import { appendFile, mkdtemp, readFile, rm, stat, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { deflateRawSync } from "node:zlib";
import { DICTIONARY_CLOUDTRAIL_1, DICTIONARY_NONE } from "../../src/journal/block-dictionary.js";
import { encodeBlock, encodePayload, HEADER_BYTES, parseHeader } from "../../src/journal/block-format.js";
import { openFileJournal } from "../../src/journal/file-journal.js";
import { JournalInvariantError } from "../../src/journal/invariant.js";
import type { JournalAppendItem } from "../../src/journal/journal.js";
import { segmentFileName } from "../../src/journal/segment-name.js";

const clock = { nowMs: () => 1_700_000_000_000 };
const directories: string[] = [];

async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "cairn-journal-compression-"));
  directories.push(directory);
  return directory;
}

after(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

/** CloudTrail-like records, so the dictionary has something to match. */
function records(prefix: string, count: number): JournalAppendItem[] {
  return Array.from({ length: count }, (_, i) => ({
    json: JSON.stringify({
      eventVersion: "1.08",
      userIdentity: { type: "IAMUser", principalId: "AIDAEXAMPLE", arn: "arn:aws:iam::111122223333:user/alice" },
      eventTime: "2024-01-01T00:00:00Z",
      eventSource: "s3.amazonaws.com",
      eventName: "GetObject",
      awsRegion: "us-east-1",
      requestID: `${prefix}-request-${i}`,
      eventID: `${prefix}-${i}`,
      readOnly: true,
      eventType: "AwsApiCall",
      managementEvent: true,
      recipientAccountId: "111122223333",
      eventCategory: "Management",
    }),
    dedupKey: `${prefix}-${i}`,
  }));
}

/** Walks a segment's blocks and returns each header's dictionary id. */
async function dictionaryIds(segmentPath: string): Promise<number[]> {
  const bytes = await readFile(segmentPath);
  const ids: number[] = [];
  for (let at = 0; at + HEADER_BYTES <= bytes.length;) {
    const header = parseHeader(bytes.subarray(at, at + HEADER_BYTES));
    assert.ok(header !== null, `block header at ${at}`);
    ids.push(header.dictionaryId);
    at += HEADER_BYTES + header.compressedBytes;
  }
  return ids;
}

describe("Journal block compression", () => {
  it("writes blocks with the preset dictionary and reads them back, smaller than without it", async () => {
    const sizes: number[] = [];
    for (const dictionaryId of [DICTIONARY_CLOUDTRAIL_1, DICTIONARY_NONE]) {
      const directory = await temporaryDirectory();
      const journal = await openFileJournal({ directory, clock, dictionaryId, blockEntriesMax: 8 });
      await journal.append(records("d", 40));
      const segment = join(directory, segmentFileName(1));
      assert.deepEqual(await dictionaryIds(segment), [
        dictionaryId,
        dictionaryId,
        dictionaryId,
        dictionaryId,
        dictionaryId,
      ]);
      const many = await journal.readMany([1, 17, 40]);
      assert.equal(many.get(17)!.json, records("d", 40)[16]!.json);
      assert.equal((await journal.read(1, 100)).length, 40);
      sizes.push((await stat(segment)).size);
      await journal.close();
    }
    assert.ok(sizes[0]! < sizes[1]!, `with dictionary ${sizes[0]} B, without ${sizes[1]} B`);
  });

  it("reads blocks of the pre-dictionary format and appends new-format blocks after them", async () => {
    const directory = await temporaryDirectory();
    const segment = join(directory, segmentFileName(1));
    let journal = await openFileJournal({ directory, clock, dictionaryId: DICTIONARY_NONE, blockEntriesMax: 128 });
    await journal.append(records("old", 130));
    await journal.close();
    assert.deepEqual(await dictionaryIds(segment), [DICTIONARY_NONE, DICTIONARY_NONE]);

    journal = await openFileJournal({ directory, clock });
    assert.equal(journal.headSeq(), 130);
    assert.equal((await journal.readMany([1, 129])).get(129)!.json, records("old", 130)[128]!.json);
    assert.deepEqual((await journal.append(records("old", 2))).seqs, [null, null], "keys of old blocks are known");
    await journal.append(records("new", 40));
    assert.deepEqual(await dictionaryIds(segment), [0, 0, 1, 1]);
    await journal.close();

    // Reopen: the dedup replay and every read must inflate both formats.
    for (const name of ["dedup.sqlite", "dedup.sqlite-wal", "dedup.sqlite-shm"])
      await rm(join(directory, name), { force: true });
    journal = await openFileJournal({ directory, clock });
    const all = await journal.read(1, 1000);
    assert.deepEqual(
      all.map((entry) => entry.json),
      [...records("old", 130), ...records("new", 40)].map((item) => item.json),
    );
    assert.deepEqual((await journal.append(records("new", 1))).seqs, [null]);
    await journal.close();
  });

  it("recovers a torn new-format group behind an old-format one", async () => {
    const directory = await temporaryDirectory();
    const segment = join(directory, segmentFileName(1));
    let journal = await openFileJournal({ directory, clock, dictionaryId: DICTIONARY_NONE, blockEntriesMax: 4 });
    await journal.append(records("old", 6));
    await journal.close();
    const oldBytes = (await stat(segment)).size;
    journal = await openFileJournal({ directory, clock, blockEntriesMax: 4 });
    await journal.append(records("new", 10));
    await journal.close();
    const ends = (await stat(segment)).size;
    for (let cut = ends - 1; cut >= oldBytes; cut -= 61) {
      await truncate(segment, cut);
      journal = await openFileJournal({ directory, clock, blockEntriesMax: 4 });
      assert.equal(journal.headSeq(), 6, `cut at ${cut}`);
      assert.equal((await stat(segment)).size, oldBytes);
      assert.equal((await journal.readMany([6])).get(6)!.json, records("old", 6)[5]!.json);
      await journal.close();
    }
    journal = await openFileJournal({ directory, clock, blockEntriesMax: 4 });
    assert.deepEqual((await journal.append(records("new", 2))).seqs, [7, 8], "keys of the torn group are not known");
    await journal.close();
  });

  it("keeps a block with an unknown dictionary and refuses to read it, rather than truncating it", async () => {
    const directory = await temporaryDirectory();
    const segment = join(directory, segmentFileName(1));
    const journal = await openFileJournal({ directory, clock });
    await journal.append(records("a", 2));
    await journal.close();
    // A block as a newer build with dictionary 200 would write it: valid checksum, id unknown here.
    const payload = encodePayload([{ json: '{"eventID":"future"}', keyHash: null, provenance: null }]);
    const meta = { firstSeq: 3, entryCount: 1, appendedAtMs: clock.nowMs(), uncompressedBytes: payload.length };
    await appendFile(
      segment,
      encodeBlock({ ...meta, groupEnd: true, dictionaryId: 200, hasProvenance: false }, deflateRawSync(payload)),
    );
    const bytes = (await stat(segment)).size;

    await assert.rejects(openFileJournal({ directory, clock }), JournalInvariantError, "dedup replay inflates it");
    assert.equal((await stat(segment)).size, bytes, "nothing was cut");
  });
});
