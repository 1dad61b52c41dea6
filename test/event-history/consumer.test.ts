import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { afterEach, describe, it } from "node:test";
import Database from "better-sqlite3";
import {
  allEventsKey,
  eventKeys,
  layoutTermKey,
  termKey,
  type Scope,
} from "../../src/consumers/event-history/posting-key.js";
import { lookupEventFromRecord } from "../../src/consumers/event-history/derive.js";
import type { LookupQuery } from "../../src/consumers/event-history/event-history.js";
import { openSqliteEventHistory } from "../../src/consumers/event-history/sqlite-event-history.js";
import { toEventTime } from "../../src/lib/clock.js";
import { bruteForce, lookupAll } from "./brute-force.js";
import { catchUp, ingest, NOW_MS, openHarness, samplesBackFrom, type Harness } from "./fixtures.js";

const DAY_MS = 86_400_000;
const ACCOUNT = "123837392027";

function query(overrides: Partial<LookupQuery> = {}): LookupQuery {
  return {
    accountId: ACCOUNT,
    region: "us-east-1",
    attributes: [],
    startTimeMs: 0,
    endTimeMs: NOW_MS + 365 * DAY_MS,
    maxResults: 50,
    ...overrides,
  };
}

describe("SqliteEventHistory retention", () => {
  let harness: Harness;
  afterEach(() => harness.cleanup());

  it("deletes postings older than the retention window on prune()", async () => {
    harness = await openHarness(90);
    const records = samplesBackFrom(NOW_MS - 1000, 600, 3 * 3_600_000); // 75 days back
    await ingest(
      harness,
      records.map((r) => JSON.stringify(r)),
    );
    const before = harness.history.countPostings();
    assert.equal((await lookupAll(harness.history, query())).length, 600);

    harness.clock.now += 30 * DAY_MS; // the oldest ≈ 15 days now fall outside the 90 days
    const pruned = await harness.history.prune();
    const after = harness.history.countPostings();
    assert.ok(pruned.partitionsDropped > 0, JSON.stringify(pruned));
    assert.equal(before - after, pruned.postingsDeleted);
    assert.ok(after < before);

    const cutoff = Math.floor(harness.clock.now / 1000) - 90 * 86_400;
    const entries = await harness.journal.read(1, 10_000);
    const expected = bruteForce(entries, query(), cutoff);
    assert.ok(expected.length < 600 && expected.length > 0);
    assert.deepEqual(await lookupAll(harness.history, query()), expected);
    assert.deepEqual(await harness.history.prune(), { partitionsDropped: 0, postingsDeleted: 0 });
  });

  it("does not index events already outside the retention window", async () => {
    harness = await openHarness(90);
    const records = samplesBackFrom(NOW_MS - 80 * DAY_MS, 20, DAY_MS); // 80..99 days old
    await ingest(
      harness,
      records.map((r) => JSON.stringify(r)),
    );
    assert.equal(harness.history.counters.expired, 9);
    assert.equal(harness.history.counters.indexed, 11);
    assert.equal((await lookupAll(harness.history, query())).length, 11);
  });
});

describe("SqliteEventHistory consumer contract", () => {
  let harness: Harness;
  afterEach(() => harness.cleanup());

  it("keeps the cursor with the postings, replays idempotently and survives reopening", async () => {
    harness = await openHarness();
    const records = samplesBackFrom(NOW_MS, 300, 60_000);
    await ingest(
      harness,
      records.map((r) => JSON.stringify(r)),
      64,
    );
    assert.equal(await harness.history.loadCursor(), 300);
    const postings = harness.history.countPostings();
    await harness.history.handle(await harness.journal.read(1, 1000)); // a replay after a crash
    assert.equal(harness.history.countPostings(), postings);
    assert.equal(await harness.history.loadCursor(), 300);

    await harness.history.close();
    const reopened = await openSqliteEventHistory({
      path: harness.path,
      journal: harness.journal,
      clock: harness.clock,
    });
    assert.equal(await reopened.loadCursor(), 300);
    assert.equal((await lookupAll(reopened, query())).length, 300);
    Object.assign(harness, { history: reopened });
  });

  it("skips unparsable entries and events Event history never shows", async () => {
    harness = await openHarness();
    const [management, data, network] = samplesBackFrom(NOW_MS, 3, 1000);
    const jsons = [
      JSON.stringify(management),
      JSON.stringify({ ...data, managementEvent: false, eventCategory: "Data" }),
      JSON.stringify({ ...network, eventCategory: "NetworkActivity", eventType: "AwsVpceEvent" }),
      "{not json",
      JSON.stringify({ eventTime: "yesterday" }),
    ];
    await ingest(harness, jsons);
    assert.deepEqual(harness.history.counters, { indexed: 1, notEventHistory: 2, expired: 0, unparsable: 2 });
    assert.equal(await harness.history.loadCursor(), 5);
    const events = await lookupAll(harness.history, query());
    assert.deepEqual(
      events.map((e) => e.EventId),
      [management!.eventID],
    );
  });

  it("serves Insights events only in the insight view, by EventId, EventName and EventSource", async () => {
    harness = await openHarness();
    const [management] = samplesBackFrom(NOW_MS, 1, 1000);
    const insight = {
      eventVersion: "1.07",
      eventTime: toEventTime(NOW_MS - 5000),
      awsRegion: "us-east-1",
      eventID: "insight-1",
      eventType: "AwsCloudTrailInsight",
      recipientAccountId: ACCOUNT,
      sharedEventID: "shared-1",
      insightDetails: { state: "Start", eventSource: "ssm.amazonaws.com", eventName: "GetParameter" },
      eventCategory: "Insight",
    };
    await ingest(harness, [JSON.stringify(management), JSON.stringify(insight)]);
    const ids = async (q: LookupQuery): Promise<string[]> =>
      (await lookupAll(harness.history, q)).map((e) => e.EventId);
    assert.deepEqual(await ids(query()), [management!.eventID]);
    assert.deepEqual(await ids(query({ eventCategory: "insight" })), ["insight-1"]);
    for (const [key, value] of [
      ["EventId", "insight-1"],
      ["EventName", "GetParameter"],
      ["EventSource", "ssm.amazonaws.com"],
    ] as const) {
      assert.deepEqual(await ids(query({ eventCategory: "insight", attributes: [{ key, value }] })), ["insight-1"]);
    }
    assert.deepEqual(
      await ids(query({ eventCategory: "insight", attributes: [{ key: "ReadOnly", value: "true" }] })),
      [],
    );
    assert.deepEqual(await ids(query({ attributes: [{ key: "EventId", value: "insight-1" }] })), []);
  });
});

describe("SqliteEventHistory query-time re-check", () => {
  let harness: Harness;
  afterEach(() => harness.cleanup());

  it("skips postings whose journal entries were trimmed by journal retention", async () => {
    harness = await openHarness();
    const records = samplesBackFrom(NOW_MS, 100, 60_000);
    await harness.journal.append(records.slice(0, 40).map((r) => ({ json: JSON.stringify(r) })));
    harness.clock.now += 1000;
    await harness.journal.append(records.slice(40).map((r) => ({ json: JSON.stringify(r) })));
    await catchUp(harness);
    await harness.journal.deleteBefore(41, NOW_MS + 1);
    const events = await lookupAll(harness.history, query(), [7]);
    assert.deepEqual(
      events.map((e) => e.EventId),
      records.slice(40).map((r) => r.eventID),
    );
  });

  it("re-checks fetched records, so a posting under a colliding key is never returned", async () => {
    harness = await openHarness();
    const records = samplesBackFrom(NOW_MS, 10, 60_000).map((record, i) => ({ ...record, readOnly: i % 2 === 0 }));
    await ingest(
      harness,
      records.map((r) => JSON.stringify(r)),
    );
    // Simulate hash collisions: seq 1..10 also filed under the key of EventId = records[0]'s id, and
    // under the key of ReadOnly=false (half of them are reads).
    const scope: Scope = { category: "management", accountId: ACCOUNT, region: "us-east-1" };
    const db = new Database(harness.path);
    const day = Math.floor((NOW_MS - 60_000) / DAY_MS);
    const insert = db.prepare(`INSERT OR IGNORE INTO posting_${day}(key, t, seq) VALUES (?, ?, ?)`);
    // The compact layout stores seqs relative to the day table's first one.
    const seqBase = db.prepare("SELECT value FROM meta WHERE name = ?").pluck().get(`seq_base/${day}`) as number;
    assert.equal(seqBase, 1);
    for (const key of [
      layoutTermKey(scope, "EventId", records[0]!.eventID, "compact"),
      layoutTermKey(scope, "ReadOnly", "false", "compact"),
    ]) {
      for (const [i, record] of records.entries()) {
        insert.run(key, Math.floor(Date.parse(record.eventTime) / 1000) - day * 86_400, i + 1 - seqBase);
      }
    }
    db.close();
    const entries = await harness.journal.read(1, 100);
    for (const q of [
      query(),
      query({ attributes: [{ key: "ReadOnly", value: "true" }] }),
      query({ attributes: [{ key: "ReadOnly", value: "false" }] }),
    ]) {
      const events = await lookupAll(harness.history, q, [3]);
      assert.deepEqual(
        events.map((e) => e.EventId),
        bruteForce(entries, q).map((e) => e.EventId),
      );
    }
    for (const maxResults of [1, 2, 50]) {
      const result = await harness.history.lookup(
        query({ attributes: [{ key: "EventId", value: records[0]!.eventID }], maxResults }),
      );
      assert.deepEqual(
        result.events.map((e) => e.EventId),
        [records[0]!.eventID],
      );
      assert.equal(result.nextToken, undefined);
    }
  });
});

describe("SqliteEventHistory posting layouts (decision 0027)", () => {
  let harness: Harness;
  afterEach(() => harness.cleanup());

  const scope: Scope = { category: "management", accountId: ACCOUNT, region: "us-east-1" };
  const layoutQueries = (): LookupQuery[] => [
    query(),
    query({ attributes: [{ key: "ReadOnly", value: "true" }] }),
    query({ attributes: [{ key: "ReadOnly", value: "false" }] }),
    query({ attributes: [{ key: "EventSource", value: "ec2.amazonaws.com" }] }),
    query({
      attributes: [
        { key: "EventSource", value: "ec2.amazonaws.com" },
        { key: "ReadOnly", value: "false" },
      ],
    }),
  ];

  async function assertLookups(harness: Harness): Promise<void> {
    const entries = await harness.journal.read(1, 10_000);
    for (const q of layoutQueries()) {
      const expected = bruteForce(entries, q).map((e) => e.EventId);
      assert.ok(expected.length > 0, JSON.stringify(q.attributes));
      const events = await lookupAll(harness.history, q, [1, 9, 50]);
      assert.deepEqual(
        events.map((e) => e.EventId),
        expected,
        JSON.stringify(q.attributes),
      );
    }
  }

  /** The layout as stored: version, distinct keys, and per day table its seq base (meta) and lowest stored seq. */
  function stored(path: string): { version: number; keys: Set<number>; days: Array<[number | undefined, number]> } {
    const db = new Database(path, { readonly: true });
    try {
      const version = db.prepare("SELECT value FROM meta WHERE name = 'schema_version'").pluck().get() as number;
      const tables = db
        .prepare("SELECT name FROM sqlite_schema WHERE name GLOB 'posting_[0-9]*'")
        .pluck()
        .all() as string[];
      const keys = new Set<number>();
      const days: Array<[number | undefined, number]> = [];
      for (const table of tables) {
        for (const key of db.prepare(`SELECT DISTINCT key FROM ${table}`).pluck().all() as number[]) keys.add(key);
        const base = db
          .prepare("SELECT value FROM meta WHERE name = ?")
          .pluck()
          .get(`seq_base/${table.slice("posting_".length)}`) as number | undefined;
        days.push([base, db.prepare(`SELECT min(seq) FROM ${table}`).pluck().get() as number]);
      }
      const bases = db.prepare("SELECT count(*) FROM meta WHERE name GLOB 'seq_base/*'").pluck().get() as number;
      assert.equal(bases, version === 2 ? tables.length : 0, "a seq base per compact day table");
      return { version, keys, days };
    } finally {
      db.close();
    }
  }

  it("creates new indexes compact: 32-bit keys, ReadOnly=true in the all-events postings, relative seqs", async () => {
    harness = await openHarness();
    const records = samplesBackFrom(NOW_MS, 400, 600_000);
    await ingest(
      harness,
      records.map((r) => JSON.stringify(r)),
    );
    const wide = records.reduce(
      (sum, record) => sum + eventKeys(scope, lookupEventFromRecord(JSON.stringify(record), record)).length,
      0,
    );
    const reads = records.filter((record) => record.readOnly === true).length;
    assert.ok(reads > 0 && reads < records.length);
    assert.equal(harness.history.countPostings(), wide - reads, "no ReadOnly=true postings");
    const { version, keys, days } = stored(harness.path);
    assert.equal(version, 2);
    assert.ok([...keys].every((key) => key >= -(2 ** 31) && key < 2 ** 31));
    const all = allEventsKey(scope, "compact");
    assert.ok(keys.has(all) && all % 2 !== 0, "the all-events key is odd");
    assert.ok(
      [...keys].every((key) => key === all || key % 2 === 0),
      "term keys are even",
    );
    assert.ok(!keys.has(layoutTermKey(scope, "ReadOnly", "true", "compact")));
    assert.ok(keys.has(layoutTermKey(scope, "ReadOnly", "false", "compact")));
    assert.ok(days.length >= 3, `${days.length} day tables`);
    // Records are newest first, so each day's first seq is its lowest: stored as 0.
    for (const [base, lowest] of days) assert.ok(base !== undefined && base > 0 && lowest === 0, `${base} ${lowest}`);
    assert.ok(
      days.some(([base]) => base! > 1),
      "later days have later bases",
    );
    await assertLookups(harness);

    harness.clock.now += 88.5 * DAY_MS; // prune drops the oldest day tables, with their seq bases
    const pruned = await harness.history.prune();
    assert.ok(pruned.partitionsDropped > 0, JSON.stringify(pruned));
    assert.ok(stored(harness.path).days.length < days.length);
  });

  it("reads and keeps writing an index created before it (wide layout, schema version 1)", async () => {
    harness = await openHarness();
    await harness.history.close();
    rmSync(harness.path);
    // What the builds before decision 0027 created on open.
    const old = new Database(harness.path);
    old.exec(
      "CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;" +
        "INSERT INTO meta(name, value) VALUES ('schema_version', 1), ('cursor', 0);",
    );
    old.close();
    const reopen = async (): Promise<void> => {
      const history = await openSqliteEventHistory({
        path: harness.path,
        journal: harness.journal,
        clock: harness.clock,
      });
      Object.assign(harness, { history });
    };
    await reopen();
    const records = samplesBackFrom(NOW_MS, 400, 600_000).map((r) => JSON.stringify(r));
    await ingest(harness, records.slice(0, 200));
    await harness.history.close();
    await reopen();
    await ingest(harness, records.slice(200));
    const { version, keys } = stored(harness.path);
    assert.equal(version, 1);
    assert.ok(keys.has(termKey(scope, "*", "")), "the wide all-events key");
    assert.ok(!keys.has(layoutTermKey(scope, "ReadOnly", "true", "compact")));
    await assertLookups(harness);
    await harness.history.close(); // cleanup() closes the history openHarness() opened
  });
});
