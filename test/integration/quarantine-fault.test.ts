/**
 * Quarantine at the store boundary, in process: real stores (the event-history SQLite index, the
 * Lake's DuckDB Parquet writer and catalog, the quarantine's SQLite file, a file journal) with a
 * fault injected for one eventID. The record is quarantined, every other record reaches the store;
 * a store that fails for everyone (disk full) quarantines nothing and catches up once it is back.
 * An import whose chunk DuckDB refuses for one record lists that record as an import failure and
 * completes with the rest.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { DuckDBInstance } from "@duckdb/node-api";
import type { Consumer } from "../../src/consumers/consumer.js";
import { openSqliteEventHistory } from "../../src/consumers/event-history/sqlite-event-history.js";
import { LakeConsumer } from "../../src/consumers/lake-writer/lake-consumer.js";
import { StoreRouter } from "../../src/consumers/lake-writer/store-router.js";
import { quarantineFor } from "../../src/consumers/quarantine.js";
import { ConsumerRunner } from "../../src/consumers/runner.js";
import { openFileJournal, type Journal, type JournalEntry } from "../../src/journal/index.js";
import { writeImportChunk } from "../../src/control-plane/lake/import/bulk-writer.js";
import { runImport, type ImportDocument } from "../../src/control-plane/lake/import/import-runner.js";
import { openSqliteLakeCatalog, type LakeCatalog } from "../../src/lake/catalog/index.js";
import { writeParquet } from "../../src/lake/engine/parquet-writer.js";
import { openDuck } from "../../src/lake/engine/query-engine.js";
import { normalizeIngestedRecord } from "../../src/normalize/pipeline.js";
import { openSqliteQuarantineStore, type QuarantineStore } from "../../src/stores/quarantine/index.js";
import { pollUntil } from "../helpers/poll.js";
import { recentRecords } from "../helpers/sample-records.js";
import { eventDataStoreFixture } from "../helpers/event-data-store.js";

const ACCOUNT = "123456789012";
const clock = { nowMs: () => Date.now() };

/** Normalises and journals `count` recent records; returns their eventIDs in journal order. */
async function journalRecords(journal: Journal, count: number): Promise<string[]> {
  const records = recentRecords(count, { accountId: ACCOUNT });
  const items = records.map((raw) => {
    const result = normalizeIngestedRecord(raw, { receivedAtMs: Date.now() });
    assert.ok(result.ok, JSON.stringify(result));
    return { json: result.json, dedupKey: result.dedupKey };
  });
  await journal.append(items);
  return records.map((record) => record["eventID"] as string);
}

const holds = (entries: readonly JournalEntry[], eventId: string): boolean =>
  entries.some((entry) => entry.json.includes(`"eventID":"${eventId}"`));

describe("quarantine at the store boundary (in process, real stores)", () => {
  let directory: string;
  let journal: Journal;
  let quarantine: QuarantineStore;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "cairn-quarantine-fault-"));
    journal = await openFileJournal({ directory: join(directory, "journal"), clock });
    quarantine = openSqliteQuarantineStore(join(directory, "quarantine.db"));
  });
  afterEach(async () => {
    await journal.close();
    await quarantine.close();
    await rm(directory, { recursive: true, force: true });
  });

  it("event history: the index refusing one eventID quarantines that record and indexes every other", async () => {
    const history = await openSqliteEventHistory({ path: join(directory, "event-history.db"), journal, clock });
    const ids = await journalRecords(journal, 300);
    const poisonId = ids[137]!;
    // The real index, refusing one record the way SQLite refuses a value it cannot store.
    const refusing: Consumer = {
      name: history.name,
      loadCursor: () => history.loadCursor(),
      handle: async (batch) => {
        if (holds(batch, poisonId)) throw new Error("datatype mismatch");
        await history.handle(batch);
      },
      probe: () => history.probe(),
    };
    const runner = new ConsumerRunner(journal, refusing, {
      batchEntriesMax: 100,
      retryDelayMsInitial: 1,
      retryDelayMsMax: 5,
      quarantine: quarantineFor(quarantine, "event-history", clock, () => undefined),
    });
    await runner.start();
    try {
      await pollUntil(() => history.cursor() === 300, { message: "the index at the journal head" });
    } finally {
      await runner.stop();
    }

    const found = async (eventId: string): Promise<number> =>
      (
        await history.lookup({
          accountId: ACCOUNT,
          region: "us-east-1",
          attributes: [{ key: "EventId", value: eventId }],
          startTimeMs: 0,
          endTimeMs: Date.now() + 60_000,
          maxResults: 50,
        })
      ).events.length;
    for (const eventId of ids) assert.equal(await found(eventId), eventId === poisonId ? 0 : 1, eventId);
    const { records } = await quarantine.list({ maxResults: 10 });
    assert.deepEqual(
      records.map((record) => [record.consumer, record.seq, record.eventId, record.accountId, record.error]),
      [["event-history", 138, poisonId, ACCOUNT, "datatype mismatch"]],
    );
    await history.close();
  });

  describe("Lake writer", () => {
    let catalog: LakeCatalog;
    let duck: DuckDBInstance;
    let lakeDir: string;
    let runners: ConsumerRunner[] = [];
    const edsId = "0123abcd-0000-4000-8000-000000000001";

    beforeEach(async () => {
      lakeDir = join(directory, "lake");
      catalog = await openSqliteLakeCatalog(join(lakeDir, "lake.db"));
      duck = await openDuck(lakeDir);
      await catalog.putStore(eventDataStoreFixture({ id: edsId, accountId: ACCOUNT }));
    });
    afterEach(async () => {
      // Stopped here too, so a failed assertion leaves no loop running.
      for (const runner of runners) await runner.stop();
      runners = [];
      duck.closeSync();
      await catalog.close();
    });

    async function storedEventIds(): Promise<string[]> {
      const connection = await duck.connect();
      try {
        const reader = await connection.runAndReadAll(
          `SELECT eventID FROM read_parquet('${lakeDir}/${edsId}/*/*.parquet') ORDER BY eventID`,
        );
        return reader.getRowObjects().map((row) => String(row["eventID"]));
      } finally {
        connection.closeSync();
      }
    }

    async function lakeWriter(write: typeof writeParquet) {
      const lakeQuarantine = quarantineFor(quarantine, "lake-writer", clock, () => undefined);
      const consumer = new LakeConsumer({
        catalog,
        duck,
        router: await StoreRouter.load(catalog),
        lakeDir,
        quarantine: lakeQuarantine,
        writeParquet: write,
      });
      const runner = new ConsumerRunner(journal, consumer, { quarantine: lakeQuarantine });
      runners.push(runner);
      await runner.start();
      return { consumer, runner };
    }

    it("DuckDB refusing one eventID's row quarantines that record; every other row is in Parquet", async () => {
      const ids = await journalRecords(journal, 400);
      const poisonId = ids[211]!;
      const { consumer, runner } = await lakeWriter(async (engine, target, rows) => {
        if (rows.some((row) => row["eventID"] === poisonId))
          throw new Error(`Conversion Error: injected for ${poisonId} in /var/lib/cairn/lake/tmp/1.ndjson`);
        return writeParquet(engine, target, rows);
      });
      await pollUntil(() => runner.cursorSeq() === 400, { message: "the Lake writer at the head" });
      await consumer.flush();
      await runner.stop();
      assert.equal(consumer.durableSeq(), 400);
      assert.deepEqual(await storedEventIds(), ids.filter((id) => id !== poisonId).sort());
      const { records } = await quarantine.list({ maxResults: 10 });
      assert.deepEqual(
        records.map((record) => [record.consumer, record.seq, record.eventId, record.error]),
        [["lake-writer", 212, poisonId, `Conversion Error: injected for ${poisonId} in <path>`]],
      );
    });

    it("an import: DuckDB refusing one record's row fails that record alone; the import completes", async () => {
      const source = join(directory, "archive");
      const day = join(source, "AWSLogs", ACCOUNT, "CloudTrail", "us-east-1", "2024", "01", "01");
      await mkdir(day, { recursive: true });
      const records = recentRecords(300, { accountId: ACCOUNT });
      const name = `${ACCOUNT}_CloudTrail_us-east-1_20240101T0000Z_fault.json.gz`;
      await writeFile(join(day, name), gzipSync(JSON.stringify({ Records: records })));
      const ids = records.map((record) => record["eventID"] as string);
      const poisonId = ids[137]!;
      const nowMs = Date.now();
      const doc: ImportDocument = {
        id: "00000000-0000-4000-8000-00000000fa17",
        accountId: ACCOUNT,
        edsId,
        destinationArn: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:eventdatastore/${edsId}`,
        sourceUri: `file://${source}`,
        directory: source,
        location: { kind: "file", directory: source },
        region: "us-east-1",
        roleArn: "",
        status: "INITIALIZING",
        createdMs: nowMs,
        updatedMs: nowMs,
        stats: { PrefixesFound: 0, PrefixesCompleted: 0, FilesCompleted: 0, EventsCompleted: 0, FailedEntries: 0 },
      };
      await runImport(doc, {
        catalog,
        duck,
        lakeDir,
        nowMs: () => Date.now(),
        save: async () => undefined,
        // The real bulk writer, refusing the chunk that holds one eventID as DuckDB refuses a value.
        writeImportChunk: async (engine, target, lines, dates) => {
          if (lines.some((line) => line.includes(poisonId)))
            throw new Error(`Conversion Error: injected for ${poisonId} in /var/lib/cairn/lake/tmp/1.ndjson`);
          return writeImportChunk(engine, target, lines, dates);
        },
      });
      assert.equal(doc.status, "COMPLETED");
      assert.equal(doc.stats.EventsCompleted, 299);
      assert.equal(doc.stats.FailedEntries, 1);
      const failures = await catalog.importFailures(doc.id, 0, 10);
      assert.deepEqual(
        failures.map((failure) => [failure.Location.split("/").at(-1), failure.ErrorType, failure.ErrorMessage]),
        [[`${name}#137`, "unwritable", `Conversion Error: injected for ${poisonId} in <path>`]],
      );
      assert.deepEqual(await storedEventIds(), ids.filter((id) => id !== poisonId).sort());
      assert.equal(await quarantine.count(), 0, "an import's refusals are its failures, not the quarantine's");
    });

    it("a disk that is full for every row quarantines nothing, and the rows arrive once it has room", async () => {
      const ids = await journalRecords(journal, 50);
      let full = true;
      const { consumer, runner } = await lakeWriter(async (engine, target, rows) => {
        if (full) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        return writeParquet(engine, target, rows);
      });
      await pollUntil(() => runner.cursorSeq() === 50, { message: "the Lake writer's buffer at the head" });
      for (let attempt = 0; attempt < 3; attempt++) await assert.rejects(consumer.flush(), /ENOSPC/);
      assert.equal(consumer.durableSeq(), 0);
      full = false;
      await consumer.flush();
      await runner.stop();
      assert.equal(consumer.durableSeq(), 50);
      assert.deepEqual(await storedEventIds(), [...ids].sort());
      assert.equal(await quarantine.count(), 0);
    });
  });
});
