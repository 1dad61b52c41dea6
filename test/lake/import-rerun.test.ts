/**
 * An import run again from the beginning (StartImport's retry; in a cluster, the lease holder running
 * again an import a stopped node was running) on both Lake catalogs: each failure is listed once,
 * the pages agree with FailedEntries, and EventsCompleted keeps what the earlier run committed.
 * Real DuckDB, real SQLite and PostgreSQL catalogs.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { DuckDBInstance } from "@duckdb/node-api";
import { runImport, type ImportDocument } from "../../src/control-plane/lake/import/import-runner.js";
import {
  openPostgresLakeCatalog,
  openSqliteLakeCatalog,
  type EventDataStore,
  type LakeCatalog,
} from "../../src/lake/catalog/index.js";
import { openDuck } from "../../src/lake/engine/query-engine.js";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { recentRecords } from "../helpers/sample-records.js";
import { eventDataStoreFixture } from "../helpers/event-data-store.js";

const ACCOUNT = "123456789012";
const EDS = "0123abcd-0000-4000-8000-0000000000e1";
const RECORDS = 200;

const postgresMissing = postgresMissingReason();
if (postgresMissing)
  process.stderr.write(
    `\n*** SKIPPED LOUDLY: the PostgreSQL import rerun case needs PostgreSQL: ${postgresMissing} ***\n\n`,
  );

function store(): EventDataStore {
  return eventDataStoreFixture({ id: EDS, accountId: ACCOUNT, advancedEventSelectors: [] });
}

/** An archive of one good trail file and two the import cannot take (malformed JSON, no Records). */
function archive(): string {
  const source = mkdtempSync(join(tmpdir(), "cairn-import-rerun-"));
  const day = join(source, "AWSLogs", ACCOUNT, "CloudTrail", "us-east-1", "2024", "01", "01");
  mkdirSync(day, { recursive: true });
  const file = (name: string): string => join(day, `${ACCOUNT}_CloudTrail_us-east-1_20240101T0000Z_${name}.json.gz`);
  writeFileSync(file("good"), gzipSync(JSON.stringify({ Records: recentRecords(RECORDS, { accountId: ACCOUNT }) })));
  writeFileSync(file("malformed"), gzipSync("{ not json"));
  writeFileSync(file("norecords"), gzipSync(JSON.stringify({ Events: [] })));
  return source;
}

function importOf(source: string, id: string): ImportDocument {
  const nowMs = Date.now();
  return {
    ...{ id, accountId: ACCOUNT, edsId: EDS, destinationArn: store().arn },
    ...{ sourceUri: `file://${source}`, directory: source, location: { kind: "file", directory: source } },
    ...{ region: "us-east-1", roleArn: "", status: "INITIALIZING", createdMs: nowMs, updatedMs: nowMs },
    stats: { PrefixesFound: 0, PrefixesCompleted: 0, FilesCompleted: 0, EventsCompleted: 0, FailedEntries: 0 },
  };
}

/** ListImportFailures' pages as the operation reads them: FailedEntries bounds the offset. */
async function pagedLocations(catalog: LakeCatalog, doc: ImportDocument, pageSize: number): Promise<string[]> {
  const locations: string[] = [];
  for (let offset = 0; offset < doc.stats.FailedEntries; offset += pageSize)
    locations.push(...(await catalog.importFailures(doc.id, offset, pageSize)).map((f) => f.Location));
  return locations;
}

function rerunTests(name: string, open: () => Promise<LakeCatalog>, skip: string | false = false): void {
  describe(`an import run again: ${name}`, { skip }, () => {
    let catalog: LakeCatalog;
    let duck: DuckDBInstance;
    let lakeDir: string;
    const dirs: string[] = [];
    before(async () => {
      lakeDir = mkdtempSync(join(tmpdir(), "cairn-import-rerun-lake-"));
      dirs.push(lakeDir);
      catalog = await open();
      duck = await openDuck(lakeDir);
    });
    after(async () => {
      duck?.closeSync();
      await catalog?.close();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    const run = (doc: ImportDocument, through: LakeCatalog = catalog): Promise<void> =>
      runImport(doc, { catalog: through, duck, lakeDir, nowMs: () => Date.now(), save: async () => undefined });

    /** ListImportFailures' entries by ErrorType, in order. */
    const errorTypes = async (doc: ImportDocument, pageSize: number): Promise<string[]> => {
      const types: string[] = [];
      for (let offset = 0; offset < doc.stats.FailedEntries; offset += pageSize)
        types.push(...(await catalog.importFailures(doc.id, offset, pageSize)).map((f) => f.ErrorType));
      return types.sort();
    };

    it("a run that failed, then a retry: the failures of the retry alone, each once", async () => {
      await catalog.putStore(store());
      const source = archive();
      dirs.push(source);
      const doc = importOf(source, "00000000-0000-4000-8000-0000000000a1");
      // The first run stops as a whole: its chunk's commit fails (the catalog went away).
      const failing = Object.assign(Object.create(catalog) as LakeCatalog, {
        commitFiles: () => Promise.reject(Object.assign(new Error("connection lost"), { code: "ECONNRESET" })),
      });
      await run(doc, failing);
      assert.equal(doc.status, "FAILED");
      assert.deepEqual(await errorTypes(doc, 2), ["ImportFailed", "malformed-json", "not-records"]);
      assert.equal(doc.committedEvents, undefined);

      Object.assign(doc, { status: "INITIALIZING" });
      await run(doc);
      assert.equal(doc.status, "COMPLETED");
      assert.deepEqual(doc.stats, {
        ...{ PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: 3 },
        ...{ EventsCompleted: RECORDS, FailedEntries: 2 },
      });
      const all = await catalog.importFailures(doc.id, 0, 100);
      assert.equal(all.length, 2, "the failed run's entries (ImportFailed among them) are gone");
      assert.deepEqual(await errorTypes(doc, 1), ["malformed-json", "not-records"]);
      assert.deepEqual(
        await pagedLocations(catalog, doc, 1),
        all.map((f) => f.Location),
      );
    });

    it("a run that committed, run again (a node stopped before saving COMPLETED): nothing twice", async () => {
      const source = archive();
      dirs.push(source);
      const doc = importOf(source, "00000000-0000-4000-8000-0000000000a2");
      await run(doc);
      assert.equal(doc.stats.EventsCompleted, RECORDS);
      Object.assign(doc, { status: "IN_PROGRESS" });
      await run(doc);
      assert.equal(doc.status, "COMPLETED");
      assert.equal(doc.committedEvents, RECORDS, "the second run committed nothing: all duplicates");
      assert.deepEqual(doc.stats, {
        ...{ PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: 3 },
        ...{ EventsCompleted: RECORDS, FailedEntries: 2 },
      });
      const locations = (await catalog.importFailures(doc.id, 0, 100)).map((f) => f.Location);
      assert.equal(locations.length, 2);
      assert.equal(new Set(locations).size, 2);
      assert.deepEqual(await pagedLocations(catalog, doc, 1), locations);
    });
  });
}

rerunTests("SqliteLakeCatalog", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-import-rerun-db-"));
  const catalog = await openSqliteLakeCatalog(join(dir, "lake.db"));
  return Object.assign(Object.create(catalog) as LakeCatalog, {
    async close() {
      await catalog.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
});

describe("PostgreSQL", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  let db: PostgresDatabase;
  let drop: () => Promise<void>;
  before(async () => {
    server = await startPostgresServer();
    const database = await server.createDatabase();
    drop = () => database.drop();
    db = openPostgresDatabase({ url: database.url });
  });
  after(async () => {
    await db?.close();
    await drop?.();
    await server?.stop();
  });
  rerunTests("PostgresLakeCatalog", () => openPostgresLakeCatalog(db));
});
