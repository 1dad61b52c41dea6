import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LookupQuery } from "../../src/consumers/event-history/event-history.js";
import {
  PostgresEventHistory,
  startPostgresEventHistory,
} from "../../src/consumers/event-history/postgres-event-history.js";
import { openFileJournal, type Journal } from "../../src/journal/index.js";
import { StoreUnavailableError } from "../../src/lib/transient-error.js";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import { openPostgresLeaseStore } from "../../src/stores/lease/index.js";
import { INDEXER_LEASE, LeasedIndexer } from "../../src/consumers/event-history/leased-indexer.js";
import { quarantineFor } from "../../src/consumers/quarantine.js";
import { openPostgresQuarantineStore } from "../../src/stores/quarantine/index.js";
import { IndexerFencedOffError } from "../../src/consumers/event-history/postgres-posting-store.js";
import { pollUntil } from "../helpers/poll.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { bruteForce, lookupAll } from "./brute-force.js";
import { FakeClock, NOW_MS, samplesBackFrom } from "./fixtures.js";

const DAY_MS = 86_400_000;
const CATCH_UP_MS = 60_000;

function query(overrides: Partial<LookupQuery> = {}): LookupQuery {
  return {
    accountId: "123837392027",
    region: "us-east-1",
    attributes: [],
    startTimeMs: NOW_MS - 90 * DAY_MS,
    endTimeMs: NOW_MS,
    maxResults: 50,
    ...overrides,
  };
}

interface Cluster {
  readonly journal: Journal;
  readonly clock: FakeClock;
  /** A pool of its own: one more node on the same database. */
  node(): PostgresDatabase;
  cleanup(): Promise<void>;
}

describe("PostgresEventHistory across nodes", { skip: postgresMissingReason() }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  async function cluster(): Promise<Cluster> {
    const directory = mkdtempSync(join(tmpdir(), "cairn-pg-event-history-"));
    const clock = new FakeClock(NOW_MS);
    const journal = await openFileJournal({ directory: join(directory, "journal"), clock });
    const database = await server.createDatabase();
    const pools: PostgresDatabase[] = [];
    return {
      journal,
      clock,
      node() {
        const db = openPostgresDatabase({ url: database.url });
        pools.push(db);
        return db;
      },
      async cleanup() {
        for (const db of pools) await db.close();
        await database.drop();
        await journal.close();
        rmSync(directory, { recursive: true, force: true });
      },
    };
  }

  async function append(journal: Journal, count: number, newestMs = NOW_MS - 1000, stepMs = 60_000): Promise<void> {
    const records = samplesBackFrom(newestMs, count, stepMs);
    await journal.append(records.map((record) => ({ json: JSON.stringify(record) })));
  }

  it("a node that does not index waits for the indexing node's cursor and continues its next tokens", async () => {
    const c = await cluster();
    const indexer = await startPostgresEventHistory({ db: c.node(), journal: c.journal, clock: c.clock });
    const reader = await PostgresEventHistory.open({ db: c.node(), journal: c.journal, clock: c.clock });
    try {
      await append(c.journal, 300);
      // No waitFor (whose poll reads the cursor): the indexer's NOTIFY alone moves the reader's cursor.
      await pollUntil(() => reader.cursor() === c.journal.headSeq(), {
        message: "the indexer's commit notified the reader",
      });

      const expected = bruteForce(await c.journal.read(1, 1000), query()).map((event) => event.EventId);
      assert.ok(expected.length > 100);
      const first = await indexer.lookup(query({ maxResults: 40 }));
      assert.ok(first.nextToken !== undefined);
      // The token alone carries the position: the other node continues where the first page ended.
      const rest = await lookupAll(reader, { ...query(), nextToken: first.nextToken });
      assert.deepEqual(
        [...first.events, ...rest].map((event) => event.EventId),
        expected,
      );
    } finally {
      await reader.close();
      await indexer.close();
      await c.cleanup();
    }
  });

  it("scans the 24 hours before the position, the 7 days before those, then the rest, and stops an AND at its scan cap", async () => {
    const c = await cluster();
    // A tiny cap: most AND pages end at it, inside one window or across a window's end.
    const history = await startPostgresEventHistory({
      db: c.node(),
      journal: c.journal,
      clock: c.clock,
      scanRowsMax: 5,
    });
    try {
      await append(c.journal, 400, NOW_MS - 1000, 5 * 3_600_000); // 400 events, one every 5 hours: 83 days
      await history.waitFor(c.journal.headSeq(), CATCH_UP_MS);
      const entries = await c.journal.read(1, 1000);
      const everything = bruteForce(entries, query());
      // The source with the most write events.
      const writeCounts = new Map<string, number>();
      for (const event of everything.filter((e) => e.ReadOnly === "false"))
        writeCounts.set(event.EventSource, (writeCounts.get(event.EventSource) ?? 0) + 1);
      const source = [...writeCounts].sort((a, b) => b[1] - a[1])[0]![0];
      const name = everything.at(-1)!.EventName; // the oldest event's name: at least one match 80 days back
      const queries = [
        query(),
        query({ attributes: [{ key: "EventName", value: name }] }),
        query({ attributes: [{ key: "ReadOnly", value: "false" }] }),
        query({
          attributes: [
            { key: "EventSource", value: source },
            { key: "ReadOnly", value: "false" },
          ],
        }),
        query({
          attributes: [
            { key: "EventName", value: name },
            { key: "ReadOnly", value: everything.at(-1)!.ReadOnly ?? "true" },
          ],
        }),
        query({
          attributes: [
            { key: "EventSource", value: source },
            { key: "ReadOnly", value: "true" },
          ],
        }),
        // A window that ends and starts inside days, so the first window is a partial day.
        query({ startTimeMs: NOW_MS - 40 * DAY_MS + 7_777_000, endTimeMs: NOW_MS - 3 * DAY_MS - 5_555_000 }),
      ];
      for (const q of queries) {
        const expected = bruteForce(entries, q);
        assert.ok(expected.length > 0, JSON.stringify(q.attributes));
        for (const sizes of [[50], [3, 7]])
          assert.deepEqual(await lookupAll(history, q, sizes), expected, `${JSON.stringify(q.attributes)} ${sizes}`);
      }
      const sparse = await history.lookup(queries[5]!);
      assert.ok(sparse.events.length < 50 && sparse.nextToken !== undefined, "the cap ends the first AND page early");
      // With ReadOnly=false the other key is scanned in the write table: one key, no probes, no cap.
      const writes = await history.lookup(queries[3]!);
      const writeCount = bruteForce(entries, queries[3]!).length;
      assert.ok(writeCount > 5, `${writeCount} write events of ${source}`);
      assert.equal(writes.events.length, Math.min(50, writeCount));
    } finally {
      await history.close();
      await c.cleanup();
    }
  });

  it("commits postings and cursor together: a failed cursor write leaves no postings, a replayed batch none twice", async () => {
    const c = await cluster();
    const db = c.node();
    const history = await PostgresEventHistory.open({ db, journal: c.journal, clock: c.clock });
    try {
      await append(c.journal, 50);
      const batch = await c.journal.read(1, 50);
      // The cursor row refuses to move: the transaction must roll the postings back with it.
      await db.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
        $$BEGIN RAISE EXCEPTION 'cursor write refused'; END$$`);
      await db.query(
        "CREATE TRIGGER refuse BEFORE UPDATE ON cairn_event_history_cursor FOR EACH ROW EXECUTE FUNCTION refuse()",
      );
      await assert.rejects(history.handle(batch), /cursor write refused/);
      assert.equal(await history.countPostings(), 0, "no postings without their cursor");
      assert.deepEqual(await db.query("SELECT seq FROM cairn_event_history_records"), [], "nor records");
      assert.equal(await history.loadCursor(), 0);

      await db.query("DROP TRIGGER refuse ON cairn_event_history_cursor");
      await history.handle(batch);
      const postings = await history.countPostings();
      assert.ok(postings > 50, `${postings} postings`);
      await history.handle(batch); // the runner may hand a batch again after a crash
      assert.equal(await history.countPostings(), postings, "a replayed batch adds nothing");
      assert.equal(await history.loadCursor(), 50);
      const reopened = await PostgresEventHistory.open({ db: c.node(), journal: c.journal, clock: c.clock });
      assert.equal(reopened.cursor(), 50, "the cursor is the database's, not the node's");
      await reopened.close();
    } finally {
      await history.close();
      await c.cleanup();
    }
  });

  it("keeps each record beside its postings: lookups read no journal; postings older than the records table read it", async () => {
    const c = await cluster();
    const db = c.node();
    const indexer = await startPostgresEventHistory({ db, journal: c.journal, clock: c.clock });
    const journalReads: number[][] = [];
    const reader = await PostgresEventHistory.open({
      db: c.node(),
      journal: {
        readMany: (seqs) => {
          journalReads.push([...seqs]);
          return c.journal.readMany(seqs);
        },
      },
      clock: c.clock,
    });
    try {
      await append(c.journal, 120);
      await reader.waitFor(c.journal.headSeq(), CATCH_UP_MS);
      const expected = bruteForce(await c.journal.read(1, 1000), query()).map((event) => event.EventId);
      const events = async (): Promise<string[]> => (await lookupAll(reader, query())).map((event) => event.EventId);
      assert.deepEqual(await events(), expected);
      assert.deepEqual(journalReads, [], "every record came from PostgreSQL");
      const [stored] = await db.query<{ n: string; bytes: string }>(
        "SELECT count(*) AS n, sum(octet_length(body)) AS bytes FROM cairn_event_history_records",
      );
      assert.equal(Number(stored!.n), expected.length);
      const rawBytes = (await c.journal.read(1, 1000)).reduce((sum, entry) => sum + Buffer.byteLength(entry.json), 0);
      assert.ok(Number(stored!.bytes) < rawBytes / 2, `records compressed: ${stored!.bytes} of ${rawBytes} bytes`);

      // As a database indexed before records were kept: the page's records come from the journal.
      await db.query("DELETE FROM cairn_event_history_records WHERE seq % 2 = 0");
      assert.deepEqual(await events(), expected);
      assert.ok(journalReads.flat().length > 0 && journalReads.flat().every((seq) => seq % 2 === 0));
    } finally {
      await reader.close();
      await indexer.close();
      await c.cleanup();
    }
  });

  it("two nodes indexing the same new days at once both succeed (partitions created race-free)", async () => {
    const c = await cluster();
    const histories = await Promise.all(
      [c.node(), c.node(), c.node()].map((db) => PostgresEventHistory.open({ db, journal: c.journal, clock: c.clock })),
    );
    try {
      await append(c.journal, 200, NOW_MS - 1000, 3 * 3_600_000); // 25 days, one partition each
      const batch = await c.journal.read(1, 200);
      await Promise.all(histories.map((history) => history.handle(batch)));
      const expected = bruteForce(batch, query()).map((event) => event.EventId);
      assert.deepEqual(
        (await lookupAll(histories[0]!, query())).map((event) => event.EventId),
        expected,
      );
    } finally {
      for (const history of histories) await history.close();
      await c.cleanup();
    }
  });

  it("migration 4: days indexed before it (or by an older node) keep probing; days after it read the write table", async () => {
    const c = await cluster();
    const db = c.node();
    const legacyDays = async (): Promise<number[]> =>
      (await db.query<{ day: number }>("SELECT day FROM cairn_event_history_write_legacy_days ORDER BY day")).map(
        (row) => row.day,
      );
    let history = await PostgresEventHistory.open({ db, journal: c.journal, clock: c.clock });
    try {
      // 30 days of events, then the database as schema version 3 left it: no write table.
      await append(c.journal, 240, NOW_MS - 20 * DAY_MS, 3 * 3_600_000);
      await history.handle(await c.journal.read(1, 1000));
      await history.close();
      await db.query(`DROP TABLE cairn_event_history_write_postings, cairn_event_history_write_legacy_days;
        DELETE FROM cairn_schema_versions WHERE component = 'event-history' AND version = 4`);
      history = await PostgresEventHistory.open({ db, journal: c.journal, clock: c.clock });
      const [version] = await db.query<{ v: number }>(
        "SELECT max(version) AS v FROM cairn_schema_versions WHERE component = 'event-history'",
      );
      assert.equal(version!.v, 4);
      // The last 20 days are new; one more event lands on the newest old day, whose write partition is then created.
      await append(c.journal, 160, NOW_MS - 1000, 3 * 3_600_000);
      await append(c.journal, 1, NOW_MS - 20 * DAY_MS + 60_000, 1);
      await history.handle(await c.journal.read(241, 1000));
      const newestOldDay = Math.floor((NOW_MS - 20 * DAY_MS) / DAY_MS);
      assert.deepEqual(await legacyDays(), [newestOldDay], "the old day given a write partition is recorded");

      // As an older node still running after the migration: a day begun without a write partition.
      const newestDay = Math.floor((NOW_MS - 1000) / DAY_MS);
      await db.query(`DROP TABLE cairn_event_history_write_postings_d${newestDay}`);

      const entries = await c.journal.read(1, 1000);
      const all = bruteForce(entries, query());
      const sources = [...new Set(all.filter((event) => event.ReadOnly === "false").map((e) => e.EventSource))];
      assert.ok(sources.length > 0);
      // A node opened now: every old day counts as legacy, found in the catalog.
      const reader = await PostgresEventHistory.open({ db: c.node(), journal: c.journal, clock: c.clock });
      try {
        for (const source of sources) {
          const q = query({
            attributes: [
              { key: "EventSource", value: source },
              { key: "ReadOnly", value: "false" },
            ],
          });
          const expected = bruteForce(entries, q);
          for (const sizes of [[50], [2, 5]])
            assert.deepEqual(await lookupAll(reader, q, sizes), expected, `${source} ${sizes}`);
        }
      } finally {
        await reader.close();
      }
      const [writePostings] = await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM cairn_event_history_write_postings",
      );
      assert.ok(Number(writePostings!.n) > 0, "events indexed after the migration have write postings");
    } finally {
      await history.close();
      await c.cleanup();
    }
  });

  it("prune() drops whole day partitions and trims the boundary day", async () => {
    const c = await cluster();
    const db = c.node();
    const history = await startPostgresEventHistory({ db, journal: c.journal, clock: c.clock });
    try {
      await append(c.journal, 200, NOW_MS - 1000, 6 * 3_600_000); // 50 days back
      await history.waitFor(c.journal.headSeq(), CATCH_UP_MS);
      const partitions = async (): Promise<number> =>
        (await db.query("SELECT 1 FROM pg_inherits WHERE inhparent = 'cairn_event_history_postings'::regclass")).length;
      const before = await partitions();
      assert.ok(before >= 50, `${before} partitions`);

      c.clock.now += 60 * DAY_MS; // the oldest ≈ 20 days fall outside the 90 days
      const pruned = await history.prune();
      assert.ok(pruned.partitionsDropped >= 19, JSON.stringify(pruned));
      assert.equal(await partitions(), before - pruned.partitionsDropped);
      const [counts] = await db.query<{ records: string; events: string }>(
        `SELECT (SELECT count(*) FROM cairn_event_history_records) AS records,
                (SELECT count(DISTINCT seq) FROM cairn_event_history_postings) AS events`,
      );
      assert.equal(counts!.records, counts!.events, "records pruned with their postings");
      const everything = query({ startTimeMs: 0, endTimeMs: c.clock.now });
      const cutoff = Math.floor(c.clock.now / 1000) - 90 * 86_400;
      const expected = bruteForce(await c.journal.read(1, 1000), everything, cutoff);
      assert.deepEqual(
        (await lookupAll(history, everything)).map((event) => event.EventId),
        expected.map((event) => event.EventId),
      );
      assert.deepEqual(await history.prune(), { partitionsDropped: 0, postingsDeleted: 0 });
    } finally {
      await history.close();
      await c.cleanup();
    }
  });

  it("fences the cursor with the indexer lease's token: a superseded indexer writes nothing, an unfenced one neither", async () => {
    const c = await cluster();
    const failures: unknown[] = [];
    const first = await PostgresEventHistory.open({ db: c.node(), journal: c.journal, clock: c.clock });
    const second = await PostgresEventHistory.open({ db: c.node(), journal: c.journal, clock: c.clock });
    const unfenced = await PostgresEventHistory.open({ db: c.node(), journal: c.journal, clock: c.clock });
    try {
      await append(c.journal, 50);
      await first.follow(c.journal, { fencingToken: 1, onFailure: (error) => failures.push(error) });
      await first.waitFor(50, CATCH_UP_MS);
      // The paused holder's successor claims the cursor; the paused one wakes and goes on.
      await second.follow(c.journal, { fencingToken: 2 });
      await append(c.journal, 50, NOW_MS - 500, 30_000);
      await second.waitFor(100, CATCH_UP_MS);
      await pollUntil(() => failures.some((error) => error instanceof IndexerFencedOffError), {
        message: "the superseded indexer to be refused",
      });
      const before = await second.countPostings();
      await assert.rejects(first.handle(await c.journal.read(1, 100)), IndexerFencedOffError);
      await assert.rejects(unfenced.handle(await c.journal.read(1, 100)), IndexerFencedOffError);
      assert.equal(await second.countPostings(), before, "nothing written by a refused batch");
      assert.equal(await second.loadCursor(), 100, "the cursor did not move back");
      const expected = bruteForce(await c.journal.read(1, 1000), query()).map((event) => event.EventId);
      assert.deepEqual(
        (await lookupAll(first, query())).map((event) => event.EventId),
        expected,
      );
    } finally {
      for (const history of [first, second, unfenced]) await history.close();
      await c.cleanup();
    }
  });

  it("LeasedIndexer: one node of two indexes; when it stops, the other takes the lease over and indexes on", async () => {
    const c = await cluster();
    const report = (error: unknown): void => assert.fail(`unexpected: ${String(error)}`);
    const nodes = await Promise.all(
      ["a", "b"].map(async (holder) => {
        const db = c.node();
        const history = await PostgresEventHistory.open({ db, journal: c.journal, clock: c.clock });
        const leases = { store: await openPostgresLeaseStore(db), holder, ttlMs: 1_500 };
        const indexer = new LeasedIndexer({
          ...{ history, journal: c.journal, leases, pruneEveryMs: 3_600_000, report },
          quarantine: { add: async (_entry, error) => assert.fail(`unexpected quarantine: ${String(error)}`) },
        });
        return { history, indexer, leases: leases.store };
      }),
    );
    try {
      for (const node of nodes) node.indexer.start();
      await append(c.journal, 40);
      const holders = await pollUntil(
        () => {
          const held = nodes.filter((node) => node.indexer.leasesHeld().includes(INDEXER_LEASE));
          return held.length === 1 && held;
        },
        { message: "exactly one node to hold the indexer lease" },
      );
      const [holder] = holders;
      const other = nodes.find((node) => node !== holder)!;
      assert.deepEqual(other.indexer.leasesHeld(), []);
      assert.equal(other.history.following(), false, "only the holder follows the journal");
      await other.history.waitFor(40, CATCH_UP_MS);
      await holder!.indexer.close();
      await append(c.journal, 40, NOW_MS - 500, 30_000);
      await pollUntil(() => other.indexer.leasesHeld().includes(INDEXER_LEASE), { message: "the takeover" });
      await other.history.waitFor(80, CATCH_UP_MS);
      assert.equal(other.history.cursor(), 80);
      const expected = bruteForce(await c.journal.read(1, 1000), query()).map((event) => event.EventId);
      assert.deepEqual(
        (await lookupAll(holder!.history, query())).map((event) => event.EventId),
        expected,
      );
    } finally {
      for (const node of nodes) {
        await node.indexer.close();
        await node.history.close();
        await node.leases.close();
      }
      await c.cleanup();
    }
  });

  it("LeasedIndexer: a record the index refuses is quarantined and indexing goes on past it", async () => {
    const c = await cluster();
    const db = c.node();
    // The failed batch that leads to the quarantine is reported (retried), as on an embedded server.
    const reported: string[] = [];
    const report = (error: unknown): void => void reported.push(String(error));
    const history = await PostgresEventHistory.open({ db, journal: c.journal, clock: c.clock });
    const leases = { store: await openPostgresLeaseStore(db), holder: "a", ttlMs: 1_500 };
    const store = await openPostgresQuarantineStore(db);
    const logged: string[] = [];
    const quarantine = quarantineFor(store, "event-history", c.clock, (line) => logged.push(line));
    const indexer = new LeasedIndexer({
      history,
      journal: c.journal,
      leases,
      pruneEveryMs: 3_600_000,
      report,
      quarantine,
    });
    try {
      // A record an older Cairn journaled with `userIdentity: null`, which the index cannot derive keys from.
      const [good, poisoned, after] = samplesBackFrom(NOW_MS - 1000, 3, 60_000);
      await c.journal.append(
        [good, { ...poisoned, userIdentity: null }, after].map((record) => ({ json: JSON.stringify(record) })),
      );
      indexer.start();
      await history.waitFor(3, CATCH_UP_MS);
      assert.equal(history.cursor(), 3);
      const [record] = (await store.list({ maxResults: 10 })).records;
      assert.deepEqual([record?.consumer, record?.seq, record?.eventId], ["event-history", 2, poisoned!.eventID]);
      assert.match(logged.join(""), /event-history quarantined journal record 2/);
      assert.ok(
        reported.every((text) => text.includes("Event history indexing failed (retried)")),
        reported.join("\n"),
      );
      assert.deepEqual(
        (await lookupAll(history, query())).map((event) => event.EventId).sort(),
        [good!.eventID, after!.eventID].sort(),
      );
    } finally {
      await indexer.close();
      await history.close();
      await store.close();
      await leases.store.close();
      await c.cleanup();
    }
  });

  it("survives a PostgreSQL restart: lookups answer unavailable, waitFor ends at its bound, indexing resumes", async () => {
    const c = await cluster();
    const history = await startPostgresEventHistory({ db: c.node(), journal: c.journal, clock: c.clock });
    try {
      await append(c.journal, 100);
      await history.waitFor(c.journal.headSeq(), CATCH_UP_MS);
      await server.restart({
        whileDown: async () => {
          await assert.rejects(history.lookup(query()), StoreUnavailableError);
          await append(c.journal, 100, NOW_MS - 500, 30_000); // the indexer's batches fail meanwhile
          await history.waitFor(c.journal.headSeq(), 200); // resolves, never rejects
          assert.equal(history.cursor(), 100, "nothing more applied while the database is down");
        },
      });
      await history.waitFor(c.journal.headSeq(), CATCH_UP_MS);
      assert.equal(history.cursor(), 200);
      const expected = bruteForce(await c.journal.read(1, 1000), query()).map((event) => event.EventId);
      assert.deepEqual(
        (await lookupAll(history, query())).map((event) => event.EventId),
        expected,
      );
    } finally {
      await history.close();
      await c.cleanup();
    }
  });
});
