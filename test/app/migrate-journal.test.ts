import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { copyJournal } from "../../src/app/migrate/copy-journal.js";
import { openFileJournal, type FileJournal } from "../../src/journal/file-journal.js";
import { JetStreamImport } from "../../src/journal/jetstream-import.js";
import type { JournalAppendItem, JournalEntry } from "../../src/journal/index.js";
import { jetStreamJournals } from "../helpers/jetstream-journals.js";
import { natsServerMissingReason, startNatsServer } from "../helpers/nats-server.js";

const skip = natsServerMissingReason();
const journals = jetStreamJournals(startNatsServer, 1);
const dirs: string[] = [];
after(async () => {
  await journals.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const provenance = {
  source: "ingest",
  principalArn: "arn:aws:iam::111122223333:root",
  accessKeyId: "AKIAEXAMPLE",
} as const;

function items(prefix: string, count: number): JournalAppendItem[] {
  return Array.from({ length: count }, (_, i) => ({
    json: JSON.stringify({ eventID: `${prefix}-${i}`, eventName: "GetObject" }),
    dedupKey: `${prefix}-${i}`,
    provenance,
  }));
}

/** A file journal whose first entries retention removed: it starts past seq 1, as an old data dir's does. */
async function sourceJournal(): Promise<FileJournal> {
  const dir = mkdtempSync(join(tmpdir(), "cairn-migrate-journal-"));
  dirs.push(dir);
  const journal = await openFileJournal({ directory: dir, segmentBytesMax: 1_024 });
  for (let group = 0; group < 6; group++) await journal.append(items(`g${group}`, 20));
  // Self-audit records have no dedup key: they are copied without one.
  await journal.append([{ json: JSON.stringify({ eventID: "self-audit" }) }]);
  await journal.deleteBefore(41, Date.now() + 60_000);
  assert.ok(journal.firstSeq() > 1, "retention removed the first segments");
  return journal;
}

function comparable(entry: JournalEntry): unknown {
  return { seq: entry.seq, json: entry.json, appendedAtMs: entry.appendedAtMs, provenance: entry.provenance };
}

describe("cairn migrate --to-cluster: the journal into JetStream at its own seqs", { skip }, () => {
  it("starts the empty stream at the first retained seq, keeps seqs, times, provenance and dedup keys", async () => {
    const source = await sourceJournal();
    const { journal: opened, stream, cleanup } = await journals.open();
    await opened.close();
    const target = await JetStreamImport.open({ servers: await journals.urls(), stream, replicas: 1 });
    try {
      const first = source.firstSeq();
      const head = source.headSeq();
      assert.deepEqual(await copyJournal(source, target), { copied: head - first + 1, present: 0 });

      const node = await journals.attach(stream);
      try {
        assert.equal(node.firstSeq(), first);
        assert.equal(node.headSeq(), head);
        const copied = await node.read(first, head);
        assert.deepEqual(copied.map(comparable), (await source.read(first, head)).map(comparable));
        // The keys came along: a repeat of a copied record is no new entry, a new record follows the copy.
        const repeat = items("g5", 1)[0]!;
        assert.deepEqual((await node.append([repeat, ...items("new", 1)])).seqs, [null, head + 1]);
      } finally {
        await node.close();
      }
      // A re-run, even after the cluster appended, finds the copy done and publishes nothing.
      assert.deepEqual(await copyJournal(source, target), { copied: 0, present: head - first + 1 });
    } finally {
      await target.close();
      await cleanup();
      await source.close();
    }
  });

  it("resumes an interrupted copy after the stream's last seq; a publish off its seq is refused", async () => {
    const source = await sourceJournal();
    const { journal: opened, stream, cleanup } = await journals.open();
    await opened.close();
    const target = await JetStreamImport.open({ servers: await journals.urls(), stream, replicas: 1 });
    try {
      const first = source.firstSeq();
      await target.startAt(first);
      const part = await source.readWithKeys(first, 10);
      await target.publish(part);
      // A stored entry published again is JetStream's duplicate of itself: its ack names its own seq.
      await target.publish(part.slice(3, 4));
      // The guard: an entry whose seq is not the stream's next is never stored elsewhere.
      const later = await source.readWithKeys(first + 12, 1);
      await assert.rejects(target.publish(later), /did not store journal entry/);
      assert.equal((await target.state()).lastSeq, first + 9);

      const rest = source.headSeq() - first - 9;
      assert.deepEqual(await copyJournal(source, target), { copied: rest, present: 10 });
      assert.equal((await target.state()).lastSeq, source.headSeq());
    } finally {
      await target.close();
      await cleanup();
      await source.close();
    }
  });

  it("refuses a stream that holds another journal's entries", async () => {
    const source = await sourceJournal();
    const { journal: other, stream, cleanup } = await journals.open();
    await other.append(items("elsewhere", 3));
    const target = await JetStreamImport.open({ servers: await journals.urls(), stream, replicas: 1 });
    try {
      await assert.rejects(copyJournal(source, target), /not this data dir's journal/);
      assert.equal((await target.state()).lastSeq, 3, "nothing was published");
    } finally {
      await target.close();
      await cleanup();
      await source.close();
    }
  });
});
