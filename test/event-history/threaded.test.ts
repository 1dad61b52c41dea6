import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import type { LookupQuery } from "../../src/consumers/event-history/event-history.js";
import { openSqliteEventHistory } from "../../src/consumers/event-history/sqlite-event-history.js";
import { ThreadedEventHistory } from "../../src/consumers/event-history/threaded-event-history.js";
import { quarantineFor } from "../../src/consumers/quarantine.js";
import { openFileJournal, type FileJournal } from "../../src/journal/file-journal.js";
import { openSqliteQuarantineStore } from "../../src/stores/quarantine/index.js";
import { toEventTime } from "../../src/lib/clock.js";
import { lookupEventFromRecord } from "../../src/consumers/event-history/derive.js";
import type { JournalAppendItem } from "../../src/journal/journal.js";
import type { CloudTrailRecord } from "../../src/model/record.js";
import { normalizeIngestedRecord } from "../../src/normalize/pipeline.js";
import { bruteForce, lookupAll } from "./brute-force.js";
import { FakeClock, loadSampleRecords, NOW_MS, retimedSamples } from "./fixtures.js";

const ACCOUNT = "123837392027";
const DAY_MS = 86_400_000;

function query(): LookupQuery {
  return {
    accountId: ACCOUNT,
    region: "us-east-1",
    attributes: [],
    startTimeMs: 0,
    endTimeMs: NOW_MS + DAY_MS,
    maxResults: 50,
  };
}

/** `count` sample records from `offset`, one a minute back from NOW_MS. */
function records(offset: number, count: number): Array<{ json: string; dedupKey: string }> {
  return loadSampleRecords()
    .slice(offset, offset + count)
    .map((record, i) => {
      const json = JSON.stringify({ ...record, eventTime: toEventTime(NOW_MS - (offset + i) * 60_000) });
      return { json, dedupKey: `${offset + i}` };
    });
}

/** Sample records as the ingest route appends them: the normaliser's text and the object it serialised. */
function normalisedItems(count: number): JournalAppendItem[] {
  const items: JournalAppendItem[] = [];
  for (const raw of retimedSamples().slice(0, count)) {
    const result = normalizeIngestedRecord(raw, { receivedAtMs: NOW_MS });
    if (!result.ok) throw new Error(`${result.errorCode}: ${result.message}`);
    items.push({ json: result.json, dedupKey: result.dedupKey, record: result.record });
  }
  return items;
}

describe("ThreadedEventHistory (indexing on a worker thread)", () => {
  let directory: string;
  let journal: FileJournal | undefined;
  let history: ThreadedEventHistory | undefined;
  afterEach(async () => {
    await history?.close();
    await journal?.close();
    history = undefined;
    journal = undefined;
    rmSync(directory, { recursive: true, force: true });
  });

  it("quarantines, through the worker, a record the index refuses, and indexes every other", async () => {
    directory = mkdtempSync(join(tmpdir(), "cairn-threaded-history-"));
    const clock = new FakeClock(NOW_MS);
    journal = await openFileJournal({ directory: join(directory, "journal"), clock });
    const quarantine = openSqliteQuarantineStore(join(directory, "quarantine.db"));
    const lines: string[] = [];
    history = await ThreadedEventHistory.start({
      path: join(directory, "event-history.db"),
      journal,
      clock,
      batchEntriesMax: 64,
      quarantine: quarantineFor(quarantine, "event-history", clock, (line) => lines.push(line)),
    });
    const items = records(0, 100);
    // The ingest rules drop a null userIdentity; journaled as is, the index cannot derive its keys.
    const refused = JSON.parse(items[40]!.json) as Record<string, unknown>;
    items[40] = { json: JSON.stringify({ ...refused, userIdentity: null }), dedupKey: "refused" };
    await journal.append(items);
    await history.waitFor(journal.headSeq(), 60_000);
    assert.equal(history.cursor(), 100);
    assert.equal((await lookupAll(history, query())).length, 99);
    const { records: quarantined } = await quarantine.list({ maxResults: 10 });
    assert.deepEqual(
      quarantined.map((record) => [record.consumer, record.seq, record.eventId]),
      [["event-history", 41, refused["eventID"]]],
    );
    assert.match(quarantined[0]!.error, /null/);
    assert.equal(lines.length, 1);
    await history.close();
    history = undefined;
    await quarantine.close();
  });

  it("indexes what was appended, reports its cursor, and serves lookups after waitFor (read-your-writes)", async () => {
    directory = mkdtempSync(join(tmpdir(), "cairn-threaded-history-"));
    const clock = new FakeClock(NOW_MS);
    journal = await openFileJournal({ directory: join(directory, "journal"), clock });
    const path = join(directory, "event-history.db");
    history = await ThreadedEventHistory.start({ path, journal, clock, batchEntriesMax: 64 });
    await journal.append(records(0, 150));
    // Unbounded wait: the assertion is about what is visible once the index reached the head.
    await history.waitFor(journal.headSeq(), 60_000);
    assert.equal(history.cursor(), 150);
    assert.equal((await lookupAll(history, query())).length, 150);

    await journal.append(records(150, 50));
    await history.waitFor(journal.headSeq(), 60_000);
    assert.equal((await lookupAll(history, query())).length, 200);
    assert.deepEqual(await history.prune(), { partitionsDropped: 0, postingsDeleted: 0 });
    // Appended while the worker ran: every entry's postings came from this thread, no block was read.
    assert.equal(history.derivedEntries(), 200);
  });

  it("answers as the journal's text would when appends carry the parsed record (the ingest path)", async () => {
    directory = mkdtempSync(join(tmpdir(), "cairn-threaded-history-"));
    const clock = new FakeClock(NOW_MS);
    journal = await openFileJournal({ directory: join(directory, "journal"), clock });
    const path = join(directory, "event-history.db");
    history = await ThreadedEventHistory.start({ path, journal, clock, batchEntriesMax: 100 });
    const items = normalisedItems(600);
    for (let at = 0; at < items.length; at += 150) await journal.append(items.slice(at, at + 150));
    await journal.append(items.slice(0, 10)); // duplicates: acknowledged, not stored, nothing derived
    await history.waitFor(journal.headSeq(), 60_000);
    assert.equal(history.cursor(), items.length);
    assert.equal(history.derivedEntries(), items.length);
    const entries = await journal.read(1, items.length);
    const sample = entries.map((entry) =>
      lookupEventFromRecord(entry.json, JSON.parse(entry.json) as CloudTrailRecord),
    );
    const queries: LookupQuery[] = [query()];
    for (const event of sample.filter((_, i) => i % 97 === 0)) {
      queries.push({ ...query(), attributes: [{ key: "EventName", value: event.EventName }] });
      if (event.Username !== undefined)
        queries.push({ ...query(), attributes: [{ key: "Username", value: event.Username }] });
      const resource = event.Resources[0]?.ResourceName;
      if (resource !== undefined) queries.push({ ...query(), attributes: [{ key: "ResourceName", value: resource }] });
    }
    for (const lookup of queries) {
      const expected = bruteForce(entries, lookup);
      assert.deepEqual(await lookupAll(history, lookup, [37]), expected, JSON.stringify(lookup.attributes));
    }
    assert.ok(queries.length > 10);
  });

  it("reads the journal's own entries to retry a batch that failed, then takes derived postings again", async () => {
    directory = mkdtempSync(join(tmpdir(), "cairn-threaded-history-"));
    const clock = new FakeClock(NOW_MS);
    journal = await openFileJournal({ directory: join(directory, "journal"), clock });
    const path = join(directory, "event-history.db");
    let failed: () => void = () => undefined;
    const failure = new Promise<void>((resolve) => (failed = resolve));
    history = await ThreadedEventHistory.start({ path, journal, clock, onError: () => failed() });
    const items = normalisedItems(200);
    await journal.append(items.slice(0, 100));
    await history.waitFor(journal.headSeq(), 60_000);
    // Another connection holds the write lock past the worker's busy timeout: its next commit fails.
    const blocker = new Database(path);
    blocker.exec("BEGIN IMMEDIATE");
    try {
      await journal.append(items.slice(100, 150));
      await failure;
    } finally {
      blocker.exec("ROLLBACK");
      blocker.close();
    }
    await history.waitFor(journal.headSeq(), 60_000);
    assert.equal(history.cursor(), 150);
    assert.equal(history.derivedEntries(), 100, "the failed batch was retried from the journal's blocks");
    await journal.append(items.slice(150));
    await history.waitFor(journal.headSeq(), 60_000);
    assert.equal(history.derivedEntries(), 150);
    assert.equal((await lookupAll(history, query())).length, bruteForce(await journal.read(1, 200), query()).length);
  });

  it("resumes from the durable cursor after a restart, without indexing anything twice", async () => {
    directory = mkdtempSync(join(tmpdir(), "cairn-threaded-history-"));
    const clock = new FakeClock(NOW_MS);
    journal = await openFileJournal({ directory: join(directory, "journal"), clock });
    const path = join(directory, "event-history.db");
    history = await ThreadedEventHistory.start({ path, journal, clock });
    await journal.append(records(0, 100));
    await history.waitFor(journal.headSeq(), 60_000);
    await history.close();

    await journal.append(records(100, 100)); // appended while no indexer runs
    history = await ThreadedEventHistory.start({ path, journal, clock });
    assert.equal(history.cursor(), 100, "the worker reports the cursor it loaded");
    await history.waitFor(journal.headSeq(), 60_000);
    assert.equal(history.cursor(), 200);
    assert.equal(history.derivedEntries(), 0, "appended before it started: read from the journal's blocks");
    assert.equal((await lookupAll(history, query())).length, 200);
    await history.close();
    history = undefined;

    const direct = await openSqliteEventHistory({ path, journal, clock });
    try {
      const postings = direct.countPostings();
      await direct.handle(await journal.read(1, 1000)); // a replay changes nothing
      assert.equal(direct.countPostings(), postings);
    } finally {
      await direct.close();
    }
  });

  it("fails to start when the index cannot be opened", async () => {
    directory = mkdtempSync(join(tmpdir(), "cairn-threaded-history-"));
    journal = await openFileJournal({ directory: join(directory, "journal") });
    await assert.rejects(ThreadedEventHistory.start({ path: join(directory, "journal"), journal }));
  });
});
