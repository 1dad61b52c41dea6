import assert from "node:assert/strict";
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
import { lookupAll } from "./brute-force.js";
import { FakeClock, loadSampleRecords, NOW_MS } from "./fixtures.js";

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
