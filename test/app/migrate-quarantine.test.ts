import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { copyQuarantine } from "../../src/app/migrate/copy-quarantine.js";
import { openPostgresDatabase } from "../../src/stores/postgres/index.js";
import {
  openPostgresQuarantineStore,
  openSqliteQuarantineStore,
  QUARANTINE_PAGE_MAX,
  type QuarantinedRecord,
  type QuarantineStore,
} from "../../src/stores/quarantine/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";

const skip = postgresMissingReason();
const TRAIL = "trail-delivery:arn:aws:cloudtrail:us-east-1:123456789012:trail/moved";

/** Every record of the store, in journal order. */
async function all(store: QuarantineStore): Promise<QuarantinedRecord[]> {
  const records: QuarantinedRecord[] = [];
  for (let page = await store.list({ maxResults: QUARANTINE_PAGE_MAX }); ;) {
    records.push(...page.records);
    if (page.next === undefined) return records;
    page = await store.list({ maxResults: QUARANTINE_PAGE_MAX, after: page.next });
  }
}

describe("cairn migrate --to-cluster: the quarantine into PostgreSQL", { skip }, () => {
  let server: PostgresServer;
  const dirs: string[] = [];
  before(async () => (server = await startPostgresServer()));
  after(async () => {
    await server?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** An embedded quarantine.db holding more than a page: two consumers, optional fields absent, a NUL. */
  async function embeddedQuarantine(): Promise<QuarantineStore> {
    const dir = mkdtempSync(join(tmpdir(), "cairn-migrate-quarantine-"));
    dirs.push(dir);
    const store = openSqliteQuarantineStore(join(dir, "quarantine.db"));
    for (let seq = 1; seq <= QUARANTINE_PAGE_MAX + 1; seq++)
      await store.add({
        consumer: "event-history",
        seq,
        eventId: `event-${seq}`,
        accountId: "123456789012",
        error: `Event history's index refused record ${seq}: userIdentity is null`,
        quarantinedAtMs: 1_700_000_000_000 + seq,
      });
    await store.add({ consumer: TRAIL, seq: 7, error: "not JSON \u0000 here", quarantinedAtMs: 1_700_000_500_000 });
    return store;
  }

  it("copies each record once with its consumer, seq, ids, error and time; a re-run copies none", async () => {
    const source = await embeddedQuarantine();
    const database = await server.createDatabase();
    const db = openPostgresDatabase({ url: database.url });
    try {
      const total = QUARANTINE_PAGE_MAX + 2;
      const ticks: Array<[number, number | undefined]> = [];
      const count = await copyQuarantine(source, db, (done, of) => ticks.push([done, of]));
      assert.deepEqual(count, { copied: total, present: 0 });
      assert.deepEqual(ticks, [
        [QUARANTINE_PAGE_MAX, total],
        [total, total],
      ]);
      const cluster = await openPostgresQuarantineStore(db);
      // As the embedded server kept them (PostgreSQL text holds no NUL: U+FFFD, as a node's own add stores it).
      const expected = (await all(source)).map((record) =>
        record.consumer === TRAIL ? { ...record, error: "not JSON \uFFFD here" } : record,
      );
      assert.deepEqual(await all(cluster), expected);
      assert.deepEqual(await copyQuarantine(source, db), { copied: 0, present: total });
      assert.equal(await cluster.count(), total);
      await cluster.close();
    } finally {
      await source.close();
      await db.close();
      await database.drop();
    }
  });

  it("brings back no record an operator dismissed in the cluster, and keeps one a node quarantined first", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cairn-migrate-quarantine-"));
    dirs.push(dir);
    const source = openSqliteQuarantineStore(join(dir, "quarantine.db"));
    const database = await server.createDatabase();
    const db = openPostgresDatabase({ url: database.url });
    try {
      const record = (seq: number, consumer = "lake-writer") => ({
        consumer,
        seq,
        error: `refused ${seq}`,
        quarantinedAtMs: 1_700_000_000_000 + seq,
      });
      await source.add(record(5));
      await source.add(record(6));
      const cluster = await openPostgresQuarantineStore(db);
      // A node started early quarantined seq 6 itself: its entry stays (the contract keeps the first).
      await cluster.add({ ...record(6), error: "the node's own", quarantinedAtMs: 1 });
      assert.deepEqual(await copyQuarantine(source, db), { copied: 1, present: 1 });
      assert.equal(await cluster.dismiss({ seq: 5 }), 1);
      // The embedded server ran again and quarantined a record of another consumer, at an earlier seq.
      await source.add(record(3, "event-history"));
      assert.deepEqual(await copyQuarantine(source, db), { copied: 1, present: 2 });
      assert.deepEqual(
        (await all(cluster)).map((r) => [r.consumer, r.seq, r.error]),
        [
          ["event-history", 3, "refused 3"],
          ["lake-writer", 6, "the node's own"],
        ],
      );
      // No quarantine.db in the data dir: nothing to copy.
      assert.deepEqual(await copyQuarantine(undefined, db), { copied: 0, present: 0 });
      await cluster.close();
    } finally {
      await source.close();
      await db.close();
      await database.drop();
    }
  });
});
