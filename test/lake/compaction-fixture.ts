/**
 * Shared by the compaction tests: a store filled with many small Parquet files (the live consumer
 * flushing every 100 ms, compaction off), lake.db inspection, and exact-count queries.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { CreateEventDataStoreCommand, type CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { openSqliteLakeCatalog } from "../../src/lake/catalog/index.js";
import { startServerProcess, TEST_ACCOUNT_ID, type ServerProcess } from "../helpers/server-process.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { pollUntil } from "../helpers/poll.js";
import { recentRecords, type RawRecord } from "../helpers/sample-records.js";
import { admin, lakeClient, queryAll } from "./lake-client.js";

const DAY_MS = 86_400_000;

/** Events the test sent: Cairn's own API calls (the test's queries) land in the store too. */
export const OURS = "eventSource <> 'cloudtrail.amazonaws.com'";

/** Server settings: fast flushes (many small files); compaction as given (interval 0 = off). */
export function compactionEnv(compaction: Record<string, string> = {}): Record<string, string> {
  return {
    CAIRN_LAKE_FLUSH_INTERVAL_MS: "100",
    CAIRN_LAKE_COMPACTION_INTERVAL_MS: "0",
    ...Object.fromEntries(Object.entries(compaction).map(([k, v]) => [`CAIRN_LAKE_COMPACTION_${k}`, v])),
  };
}

/** The compaction tests' wait: `probe` until it returns a value. */
export function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  // A bound against hanging forever, not a figure under test.
  return pollUntil(probe, { timeoutMs: 120_000, intervalMs: 50, message: what });
}

export async function rows(client: CloudTrailClient, sql: string): Promise<Array<Record<string, string>>> {
  const outcome = await queryAll(client, sql);
  assert.equal(outcome.status, "FINISHED", `${sql}: ${outcome.error ?? ""}`);
  return outcome.rows.map((row) => Object.assign({}, ...row) as Record<string, string>);
}

/** The committed files of a store in the catalog (lake.db), per partition directory name. */
export async function committedFiles(dataDir: string, storeId: string): Promise<Map<string, string[]>> {
  const catalog = await openSqliteLakeCatalog(join(dataDir, "lake", "lake.db"));
  try {
    const out = new Map<string, string[]>();
    for (const path of await catalog.storeFiles(storeId)) {
      const partition = path.split("/").at(-2)!;
      out.set(partition, [...(out.get(partition) ?? []), path]);
    }
    return out;
  } finally {
    await catalog.close();
  }
}

/** The Parquet files on disk under a store's directory. */
export function filesOnDisk(dataDir: string, storeId: string): string[] {
  const dir = join(dataDir, "lake", storeId);
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((name) => name.endsWith(".parquet"))
    .map((name) => join(dir, name))
    .sort();
}

export function count(files: Map<string, string[]>): number {
  return [...files.values()].reduce((sum, list) => sum + list.length, 0);
}

/** UTC date `days` before now. */
export function dateDaysAgo(days: number): string {
  return new Date(Date.now() - days * DAY_MS).toISOString().slice(0, 10);
}

export interface SmallFiles {
  readonly storeId: string;
  readonly records: RawRecord[];
  /** Partitions of the days in the past (closed: they merge down to one file). */
  readonly closedPartitions: string[];
}

/**
 * Starts a server with compaction off, creates a store and ingests `batches` batches, each with
 * `perDate` events on each of the `daysAgo` dates (mid-day, so they stay in that date), waiting for
 * every batch to be committed: about one file per batch and date. Stops the server.
 */
export async function makeSmallFiles(
  dataDir: string,
  options: { batches: number; perDate: number; daysAgo: number[] },
): Promise<SmallFiles> {
  let server: ServerProcess | undefined;
  let client: CloudTrailClient | undefined;
  try {
    server = await startServerProcess({ dataDir, env: compactionEnv() });
    client = lakeClient(server.url);
    const created = await client.send(
      new CreateEventDataStoreCommand({ Name: "compaction", TerminationProtectionEnabled: false }),
    );
    const storeId = created.EventDataStoreArn!.split("/")[1]!;
    const records: RawRecord[] = [];
    const todayNoonMs = Date.parse(`${dateDaysAgo(0)}T12:00:00Z`);
    for (let batch = 0; batch < options.batches; batch++) {
      const sent: RawRecord[] = [];
      for (const days of options.daysAgo) {
        // Today: events just before now; other days: spread over an hour around noon.
        const nowMs = days === 0 ? Date.now() : todayNoonMs - days * DAY_MS;
        const spreadMs =
          days === 0 ? Math.min(3_600_000, Date.now() - Date.parse(`${dateDaysAgo(0)}T00:00:00Z`)) : 3_600_000;
        sent.push(...recentRecords(options.perDate, { accountId: TEST_ACCOUNT_ID, nowMs, spreadMs: spreadMs / 2 }));
      }
      const response = await sendRaw(server.url, ingestCall(sent, admin, { gzip: true }));
      assert.equal(response.status, 200);
      assert.equal((response.json() as { accepted: number }).accepted, sent.length);
      records.push(...sent);
      const url = dataDir;
      await waitFor(`batch ${batch} committed`, async () => {
        const committed = await committedFiles(url, storeId);
        return count(committed) >= (batch + 1) * options.daysAgo.length ? true : undefined;
      });
    }
    const closedPartitions = options.daysAgo.filter((d) => d >= 2).map((d) => `eventdate=${dateDaysAgo(d)}`);
    return { storeId, records, closedPartitions };
  } finally {
    client?.destroy();
    await server?.stop();
  }
}

/** Reads every Parquet file under the store with an independent DuckDB: rows, distinct checksums. */
export async function readStoreFiles(dataDir: string, storeId: string): Promise<{ rows: number; distinct: number }> {
  const files = filesOnDisk(dataDir, storeId);
  if (files.length === 0) return { rows: 0, distinct: 0 };
  const duck = await DuckDBInstance.create(":memory:");
  const connection = await duck.connect();
  try {
    const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(", ");
    const result = await connection.runAndReadAll(
      `SELECT count(*) AS n, count(DISTINCT md5(CAST(t AS VARCHAR))) AS m, count(DISTINCT eventJsonChecksum) AS c ` +
        `FROM read_parquet([${list}], hive_partitioning = true, union_by_name = true) AS t`,
    );
    const row = result.getRowObjects()[0]!;
    assert.equal(Number(row["m"]), Number(row["n"]), "every row decodes and no row is on disk twice");
    return { rows: Number(row["n"]), distinct: Number(row["c"]) };
  } finally {
    connection.closeSync();
    duck.closeSync();
  }
}
