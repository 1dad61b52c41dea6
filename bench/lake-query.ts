import { importDirectory, percentile, runLakeQuery } from "./lake-api.js";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import { CloudTrailClient, CreateEventDataStoreCommand } from "@aws-sdk/client-cloudtrail";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { checkStatement, connectForQuery, openDuck, runQuery } from "../src/lake/engine/query-engine.js";
import { partitionRanges, type DateRange } from "../src/lake/engine/query-pruning.js";
import { rewriteLakeSql, viewNameOf } from "../src/lake/engine/query-sql.js";
import { loadSamples, recordGenerator } from "./event-history-records.js";
import { BENCH_ACCESS_KEY_ID, BENCH_REGION, BENCH_SECRET, rssOf, startBenchServer } from "./server-process.js";

/**
 * Lake query latency over N events (default 1,000,000 over 30 days, imported with StartImport from
 * gzip trail files), per query, median and p99 of R runs (default 7):
 * - `api`: StartQuery → DescribeQuery until done → every GetQueryResults page, against the server
 *   (each call is SigV4-checked and journaled, fail closed);
 * - `engine`: what the server does for one query, in this process: parse, partition ranges, a fresh
 *   connection with one view over the store's files (listing + Parquet footers, cached), run, format;
 * - `engine, no pruning`: the same with every partition read (only for the time-bounded queries);
 * - `warm view`: the query alone on a connection whose view already exists (no listing, no setup):
 *   the floor per-query setup could reach;
 * - `duckdb over gzip`: DuckDB scanning the same gzip trail files (the alternative without a Lake).
 * Usage: node dist/bench/lake-query.js [events=1000000] [runs=7]. Writes bench/results/lake-query-*.json.
 * With LAKE_QUERY_BENCH_KEEP=<dir> the archive and the imported store are kept in <dir> and reused by
 * the next run with the same event count (no second import), for trying engine changes quickly.
 */

interface BenchQuery {
  readonly name: string;
  /** Over `T` (replaced by the store id, the view, or the gzip view). */
  readonly sql: string;
  readonly bounded: boolean;
}

export interface LakeQueryFigure {
  readonly query: string;
  readonly rows: number;
  readonly apiP50Ms: number;
  readonly apiP99Ms: number;
  readonly engineP50Ms: number;
  readonly engineP99Ms: number;
  readonly engineNoPruningP50Ms?: number;
  readonly warmViewP50Ms: number;
  readonly duckdbOverGzipMs: number;
  readonly eventsScanned: number;
  readonly bytesScanned: number;
  readonly eventsScannedNoPruning?: number;
}

export interface LakeQueryBench {
  readonly name: "lake-query";
  /**
   * Per-query setup over every file (connection, listing, view, one bind), p50 ms: as the engine does it
   * (union_by_name only when schemas differ) and with union_by_name always on (before this change).
   */
  readonly setupP50Ms: number;
  readonly setupUnionByNameP50Ms: number;
  readonly events: number;
  readonly runs: number;
  readonly importSeconds: number;
  readonly storeFiles: number;
  readonly storeBytes: number;
  readonly partitions: number;
  readonly queries: LakeQueryFigure[];
  readonly serverRssBytes: number;
}

const COMPACT_EVERY_SECOND = { CAIRN_LAKE_COMPACTION_INTERVAL_MS: "1000" };
const round = (value: number): number => Math.round(value * 10) / 10;

function benchQueries(day: string, nextDay: string, weekAgo: string, eventName: string): BenchQuery[] {
  return [
    {
      name: "count by eventSource",
      sql: "SELECT eventSource, count(*) AS n FROM T GROUP BY eventSource ORDER BY n DESC",
      bounded: false,
    },
    {
      name: "count by eventName",
      sql: "SELECT eventName, count(*) AS n FROM T GROUP BY eventName ORDER BY n DESC LIMIT 100",
      bounded: false,
    },
    {
      name: "count by userIdentity.arn",
      sql: "SELECT userIdentity.arn AS arn, count(*) AS n FROM T GROUP BY 1 ORDER BY n DESC LIMIT 100",
      bounded: false,
    },
    {
      name: "errors by user",
      sql:
        "SELECT userIdentity.arn AS arn, count(*) AS n FROM T WHERE errorCode IS NOT NULL " +
        "GROUP BY 1 ORDER BY n DESC LIMIT 100",
      bounded: false,
    },
    {
      name: "hourly histogram over a day",
      sql:
        "SELECT date_trunc('hour', eventTime) AS h, count(*) AS n FROM T " +
        `WHERE eventTime >= '${day} 00:00:00' AND eventTime < '${nextDay} 00:00:00' GROUP BY 1 ORDER BY 1`,
      bounded: true,
    },
    {
      name: "every event of a day, paged",
      sql:
        "SELECT eventID, eventTime, eventName FROM T " +
        `WHERE eventTime >= '${day} 00:00:00' AND eventTime < '${nextDay} 00:00:00' ORDER BY eventTime, eventID`,
      bounded: true,
    },
    {
      name: `selective: ${eventName} with errorCode`,
      sql:
        "SELECT eventTime, userIdentity.arn AS arn, errorCode FROM T " +
        `WHERE eventName = '${eventName}' AND errorCode IS NOT NULL ORDER BY eventTime DESC LIMIT 100`,
      bounded: false,
    },
    {
      name: `selective, last 7 days: ${eventName} with errorCode`,
      sql:
        "SELECT eventTime, userIdentity.arn AS arn, errorCode FROM T " +
        `WHERE eventTime >= '${weekAgo} 00:00:00' AND eventName = '${eventName}' AND errorCode IS NOT NULL ` +
        "ORDER BY eventTime DESC LIMIT 100",
      bounded: true,
    },
  ];
}

/** StartImport file://… and wait for COMPLETED; returns the seconds it took. */
async function importArchive(client: CloudTrailClient, storeId: string, archive: string): Promise<number> {
  return (await importDirectory(client, storeId, archive)).seconds;
}

/** One query as the server runs it (query-operations.ts), minus HTTP and the results file. */
async function engineQuery(
  duck: DuckDBInstance,
  lakeDir: string,
  storeId: string,
  sql: string,
  prune: boolean,
): Promise<{ rows: number; eventsScanned: number; bytesScanned: number }> {
  const rewritten = rewriteLakeSql(sql);
  const check = await duck.connect();
  let ranges = new Map<string, DateRange | undefined>();
  try {
    const tree = await checkStatement(check, rewritten.sql);
    if (prune) ranges = partitionRanges(tree, [viewNameOf(storeId)]);
  } finally {
    check.closeSync();
  }
  const { connection, scan } = await connectForQuery(duck, lakeDir, [storeId], ranges);
  try {
    const result = await runQuery(connection, rewritten.sql);
    return { rows: result.rows.length, eventsScanned: scan.eventsScanned, bytesScanned: scan.bytesScanned };
  } finally {
    connection.closeSync();
  }
}

async function timed<T>(runs: number, work: () => Promise<T>): Promise<{ ms: number[]; last: T }> {
  const ms: number[] = [];
  let last = await work(); // warm-up
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    last = await work();
    ms.push(performance.now() - started);
  }
  return { ms, last };
}

/** DuckDB reading the gzip trail files as they are (view `trail`): each query a full scan. */
async function gzipView(duck: DuckDBInstance, archive: string): Promise<DuckDBConnection> {
  const gzip = await duck.connect();
  const glob = join(archive, "*.json.gz").replaceAll("'", "''");
  const recordType =
    "STRUCT(eventID VARCHAR, eventTime VARCHAR, eventSource VARCHAR, eventName VARCHAR, errorCode VARCHAR, userIdentity STRUCT(arn VARCHAR))";
  await gzip.run(
    `CREATE VIEW trail AS SELECT r.eventID, r.eventSource, r.eventName, r.errorCode, r.userIdentity, ` +
      `CAST(r.eventTime AS TIMESTAMP) AS eventTime FROM (SELECT unnest(Records) AS r FROM ` +
      `read_json('${glob}', format = 'auto', columns = {Records: '${recordType}[]'}, maximum_object_size = 1073741824))`,
  );
  return gzip;
}

/** Connection + view over every file + one bind, as the engine does it or with union_by_name forced. */
async function setupTimes(duck: DuckDBInstance, lakeDir: string, storeId: string, runs: number) {
  const view = viewNameOf(storeId);
  const engine = await timed(runs, async () => {
    const { connection } = await connectForQuery(duck, lakeDir, [storeId]);
    await connection.runAndReadAll(`DESCRIBE SELECT * FROM "${view}"`);
    connection.closeSync();
  });
  const union = await timed(runs, async () => {
    const connection = await duck.connect();
    const files = readdirSync(join(lakeDir, storeId))
      .filter((name) => name.startsWith("eventdate="))
      .flatMap((partition) =>
        readdirSync(join(lakeDir, storeId, partition)).map((name) => join(lakeDir, storeId, partition, name)),
      );
    const list = files.map((file) => `'${file.replaceAll("'", "''")}'`).join(", ");
    await connection.run(
      `CREATE TEMP VIEW "${view}" AS SELECT * FROM read_parquet([${list}], hive_partitioning = true, union_by_name = true)`,
    );
    await connection.runAndReadAll(`DESCRIBE SELECT * FROM "${view}"`);
    connection.closeSync();
  });
  return { setupP50Ms: round(percentile(engine.ms, 0.5)), setupUnionByNameP50Ms: round(percentile(union.ms, 0.5)) };
}

function directoryFacts(path: string): { bytes: number; files: number; partitions: number } {
  let bytes = 0;
  let files = 0;
  const partitions = readdirSync(path).filter((name) => name.startsWith("eventdate="));
  for (const partition of partitions)
    for (const name of readdirSync(join(path, partition))) {
      bytes += statSync(join(path, partition, name)).size;
      files++;
    }
  return { bytes, files, partitions: partitions.length };
}

/**
 * Waits until the server's compaction has merged what it will (the file list unchanged for 5 s):
 * the engine and warm-view figures read the directory, and a merge deleting a file under them
 * failed the bench.
 */
async function untilCompacted(storeDir: string): Promise<ReturnType<typeof directoryFacts>> {
  const listing = (): string =>
    readdirSync(storeDir)
      .filter((name) => name.startsWith("eventdate="))
      .flatMap((partition) => readdirSync(join(storeDir, partition)).map((name) => `${partition}/${name}`))
      .sort()
      .join(",");
  let last = listing();
  for (let stableSince = performance.now(); performance.now() - stableSince < 5_000;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = listing();
    if (now !== last) [last, stableSince] = [now, performance.now()];
  }
  return directoryFacts(storeDir);
}

export async function benchLakeQuery(options: { events?: number; runs?: number } = {}): Promise<LakeQueryBench> {
  const events = options.events ?? 1_000_000;
  const runs = options.runs ?? 7;
  const keep = process.env["LAKE_QUERY_BENCH_KEEP"];
  const archive = keep ? join(keep, `archive-${events}`) : mkdtempSync(join(tmpdir(), "cairn-bench-lakeq-archive-"));
  const dataDir = keep ? join(keep, `data-${events}`) : mkdtempSync(join(tmpdir(), "cairn-bench-lakeq-data-"));
  const reuse = keep !== undefined && existsSync(join(dataDir, "lake", "imported"));
  mkdirSync(archive, { recursive: true });
  let server: Awaited<ReturnType<typeof startBenchServer>> | undefined;
  let client: CloudTrailClient | undefined;
  let duck: DuckDBInstance | undefined;
  let gzipDuck: DuckDBInstance | undefined;
  try {
    const lastMs = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    const firstMs = lastMs - 30 * 86_400_000;
    const samples = loadSamples();
    const generator = recordGenerator(samples, events, firstMs, lastMs);
    for (let start = 0, file = 0; !reuse && start < events; start += 1000, file++) {
      const records = [];
      for (let i = start; i < Math.min(events, start + 1000); i++) records.push(generator.record(i));
      writeFileSync(
        join(archive, `${String(file).padStart(7, "0")}.json.gz`),
        gzipSync(JSON.stringify({ Records: records })),
      );
    }
    // Compaction every second, so the store settles before anything is measured (untilCompacted).
    server = await startBenchServer(dataDir, { CAIRN_IMPORT_ALLOWED_DIRS: archive, ...COMPACT_EVERY_SECOND });
    client = new CloudTrailClient({
      endpoint: server.url,
      region: BENCH_REGION,
      credentials: { accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET },
      maxAttempts: 1,
    });
    let storeId: string;
    let importSeconds = 0;
    if (reuse) storeId = readFileSync(join(dataDir, "lake", "imported"), "utf8");
    else {
      storeId = (
        await client.send(
          new CreateEventDataStoreCommand({
            Name: "bench",
            TerminationProtectionEnabled: false,
            StartIngestion: false,
          }),
        )
      ).EventDataStoreArn!.split("/")[1]!;
      importSeconds = await importArchive(client, storeId, archive);
      if (keep) writeFileSync(join(dataDir, "lake", "imported"), storeId);
    }
    process.stderr.write(`lake-query bench: ${events} events imported in ${importSeconds.toFixed(1)} s\n`);
    const lakeDir = join(dataDir, "lake");
    const store = await untilCompacted(join(lakeDir, storeId));

    const middle = new Date((firstMs + lastMs) / 2);
    const day = middle.toISOString().slice(0, 10);
    const nextDay = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const weekAgo = new Date(lastMs - 7 * 86_400_000).toISOString().slice(0, 10);
    const eventName = samples.find((s) => s.errorCode !== undefined)?.eventName ?? samples[0]!.eventName;

    duck = await openDuck(lakeDir);
    // The floor for per-query setup: one connection whose view over every file already exists.
    const { connection: warm } = await connectForQuery(duck, lakeDir, [storeId]);
    gzipDuck = await DuckDBInstance.create(":memory:");
    const gzip = await gzipView(gzipDuck, archive);

    const figures: LakeQueryFigure[] = [];
    for (const query of benchQueries(day, nextDay, weekAgo, eventName)) {
      const lakeSql = query.sql.replaceAll(" T ", ` ${storeId} `);
      const api = await timed(runs, () => runLakeQuery(client!, lakeSql));
      const engine = await timed(runs, () => engineQuery(duck!, lakeDir, storeId, lakeSql, true));
      const unpruned = query.bounded
        ? await timed(runs, () => engineQuery(duck!, lakeDir, storeId, lakeSql, false))
        : undefined;
      const viewSql = rewriteLakeSql(lakeSql).sql;
      const warmView = await timed(runs, async () => (await warm.runAndReadAll(viewSql)).currentRowCount);
      const gzipStarted = performance.now();
      const gzipRows = (await gzip.runAndReadAll(query.sql.replaceAll(" T ", " trail "))).currentRowCount;
      const gzipMs = performance.now() - gzipStarted;
      if (gzipRows !== api.last || engine.last.rows !== api.last)
        process.stderr.write(`lake-query bench: ${query.name}: rows differ (api ${api.last}, gzip ${gzipRows})\n`);
      const figure: LakeQueryFigure = {
        query: query.name,
        rows: api.last,
        apiP50Ms: round(percentile(api.ms, 0.5)),
        apiP99Ms: round(percentile(api.ms, 0.99)),
        engineP50Ms: round(percentile(engine.ms, 0.5)),
        engineP99Ms: round(percentile(engine.ms, 0.99)),
        ...(unpruned !== undefined ? { engineNoPruningP50Ms: round(percentile(unpruned.ms, 0.5)) } : {}),
        warmViewP50Ms: round(percentile(warmView.ms, 0.5)),
        duckdbOverGzipMs: round(gzipMs),
        eventsScanned: engine.last.eventsScanned,
        bytesScanned: engine.last.bytesScanned,
        ...(unpruned !== undefined ? { eventsScannedNoPruning: unpruned.last.eventsScanned } : {}),
      };
      figures.push(figure);
      process.stderr.write(`lake-query bench: ${JSON.stringify(figure)}\n`);
    }
    warm.closeSync();
    gzip.closeSync();
    const setup = await setupTimes(duck, lakeDir, storeId, 3 * runs);
    return {
      name: "lake-query",
      ...setup,
      events,
      runs,
      importSeconds: round(importSeconds),
      storeFiles: store.files,
      storeBytes: store.bytes,
      partitions: store.partitions,
      queries: figures,
      serverRssBytes: rssOf(server.pid),
    };
  } finally {
    duck?.closeSync();
    gzipDuck?.closeSync();
    client?.destroy();
    await server?.stop();
    if (!keep) {
      rmSync(archive, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

export function printLakeQueryBench(result: LakeQueryBench): void {
  console.log(
    `Lake queries over ${result.events.toLocaleString("en-US")} events (${result.partitions} partitions, ` +
      `${result.storeFiles} files, ${(result.storeBytes / 1e6).toFixed(1)} MB), p50/p99 of ${result.runs} runs, ms; ` +
      `per-query setup p50 ${result.setupP50Ms} ms (${result.setupUnionByNameP50Ms} ms with union_by_name always on)`,
  );
  console.table(
    result.queries.map((q) => ({
      query: q.query,
      rows: q.rows,
      "api p50": q.apiP50Ms,
      "api p99": q.apiP99Ms,
      "engine p50": q.engineP50Ms,
      "engine p99": q.engineP99Ms,
      "no pruning p50": q.engineNoPruningP50Ms ?? "",
      "warm view p50": q.warmViewP50Ms,
      "duckdb/gzip": q.duckdbOverGzipMs,
      scanned: q.eventsScanned,
    })),
  );
}

if (
  process.argv[1] !== undefined &&
  resolve(process.argv[1]) === resolve(import.meta.filename) &&
  process.argv[2] !== "--compaction"
) {
  const result = await benchLakeQuery({
    events: Number(process.argv[2] ?? 1_000_000),
    runs: Number(process.argv[3] ?? 7),
  });
  printLakeQueryBench(result);
  const dir = resolve(import.meta.dirname, "../../bench/results");
  mkdirSync(dir, { recursive: true });
  const at = new Date().toISOString();
  const file = join(dir, `lake-query-${at.replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify({ ...result, at }, null, 2)}\n`);
  console.log(`written ${file}`);
}

/**
 * Compaction (issue 5): query latency over one store made of N small files (as the live consumer
 * writes them, one per flush and event date) before and after compaction, in this process, as the
 * server runs a query (file list from lake.db, connection, view, run). Usage:
 * node dist/bench/lake-query.js --compaction [files=2000] [eventsPerFile=50] [runs=7]
 * Writes bench/results/lake-compaction-*.json.
 */
export interface LakeCompactionBench {
  readonly name: "lake-compaction";
  readonly events: number;
  readonly runs: number;
  readonly filesBefore: number;
  readonly bytesBefore: number;
  readonly filesAfter: number;
  readonly bytesAfter: number;
  readonly partitions: number;
  readonly compactionSeconds: number;
  readonly compactionRuns: number;
  readonly queries: Array<{
    query: string;
    rows: number;
    beforeP50Ms: number;
    afterP50Ms: number;
    beforeP99Ms: number;
    afterP99Ms: number;
  }>;
}

function benchStore(storeId: string, createdMs: number): import("../src/lake/catalog/index.js").EventDataStore {
  return {
    id: storeId,
    accountId: "123456789012",
    region: "us-east-1",
    name: "bench",
    arn: `arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/${storeId}`,
    status: "ENABLED",
    advancedEventSelectors: [],
    multiRegionEnabled: true,
    organizationEnabled: false,
    retentionPeriod: 3653,
    terminationProtectionEnabled: false,
    billingMode: "EXTENDABLE_RETENTION_PRICING",
    tags: [],
    createdMs,
    updatedMs: createdMs,
    fromSeq: 0,
  };
}

/** N small files of consecutive (time-ordered) events, as flushes write them; a file never spans two dates. */
async function writeSmallFiles(
  catalog: import("../src/lake/catalog/index.js").LakeCatalog,
  duck: DuckDBInstance,
  lakeDir: string,
  storeId: string,
  options: { files: number; eventsPerFile: number; firstMs: number; lastMs: number },
): Promise<number> {
  const { writeParquet } = await import("../src/lake/engine/parquet-writer.js");
  const { recordToRow, eventDateOf } = await import("../src/lake/engine/lake-schema.js");
  const events = options.files * options.eventsPerFile;
  const generator = recordGenerator(loadSamples(), events, options.firstMs, options.lastMs - 1);
  let written = 0;
  for (let file = 0; file < options.files; file++) {
    const byDate = new Map<string, Array<Record<string, unknown>>>();
    for (let i = file * options.eventsPerFile; i < (file + 1) * options.eventsPerFile; i++) {
      const record = generator.record(i);
      const date = eventDateOf(record);
      byDate.set(date, [...(byDate.get(date) ?? []), recordToRow(record, JSON.stringify(record))]);
    }
    for (const [eventDate, rows] of byDate) {
      const name = `live-${String(file).padStart(12, "0")}-${eventDate}`;
      const path = await writeParquet(duck, { lakeDir, edsId: storeId, eventDate, name }, rows);
      await catalog.commitFiles([{ path, edsId: storeId, rows: rows.length, keys: [] }]);
      written++;
    }
  }
  return written;
}

export async function benchLakeCompaction(options: {
  files: number;
  eventsPerFile: number;
  runs: number;
}): Promise<LakeCompactionBench> {
  const { openSqliteLakeCatalog } = await import("../src/lake/catalog/index.js");
  const { Compactor, FileSnapshots } = await import("../src/lake/compaction/compaction.js");
  const lakeDir = mkdtempSync(join(tmpdir(), "cairn-bench-compaction-"));
  const catalog = await openSqliteLakeCatalog(join(lakeDir, "lake.db"));
  const duck = await openDuck(lakeDir);
  const storeId = "0b5e7c1a-1111-4222-8333-944455556666";
  const day = 86_400_000;
  // Three closed days (a week ago), so compaction merges each down to about one file.
  const lastMs = Date.parse(`${new Date(Date.now() - 7 * day).toISOString().slice(0, 10)}T00:00:00Z`);
  const firstMs = lastMs - 3 * day;
  try {
    await catalog.putStore(benchStore(storeId, firstMs));
    const events = options.files * options.eventsPerFile;
    const written = await writeSmallFiles(catalog, duck, lakeDir, storeId, { ...options, firstMs, lastMs });
    const snapshots = new FileSnapshots(catalog);
    const facts = async (): Promise<{ files: number; bytes: number; partitions: number }> => {
      const paths = await catalog.storeFiles(storeId);
      return {
        files: paths.length,
        bytes: paths.reduce((sum, path) => sum + statSync(path).size, 0),
        partitions: new Set(paths.map((path) => path.split("/").at(-2))).size,
      };
    };
    const middle = new Date(firstMs + 1.5 * day).toISOString().slice(0, 10);
    const next = new Date(Date.parse(`${middle}T00:00:00Z`) + day).toISOString().slice(0, 10);
    const queries = [
      { name: "count(*)", sql: "SELECT count(*) AS n FROM T WHERE eventName IS NOT NULL" },
      { name: "count by eventSource", sql: "SELECT eventSource, count(*) AS n FROM T GROUP BY 1 ORDER BY n DESC, 1" },
      {
        name: "count by userIdentity.arn",
        sql: "SELECT userIdentity.arn AS arn, count(*) AS n FROM T GROUP BY 1 ORDER BY n DESC, 1 LIMIT 100",
      },
      {
        name: "hourly histogram over a day (pruned)",
        sql:
          "SELECT date_trunc('hour', eventTime) AS h, count(*) AS n FROM T " +
          `WHERE eventTime >= '${middle} 00:00:00' AND eventTime < '${next} 00:00:00' GROUP BY 1 ORDER BY 1`,
      },
    ];
    const measure = async (): Promise<Array<{ rows: number; ms: number[]; answer: string }>> => {
      const out = [];
      for (const query of queries) {
        const sql = rewriteLakeSql(query.sql.replaceAll(" T ", ` ${storeId} `)).sql;
        const result = await timed(options.runs, async () => {
          const check = await duck.connect();
          let ranges = new Map<string, DateRange | undefined>();
          try {
            ranges = partitionRanges(await checkStatement(check, sql), [viewNameOf(storeId)]);
          } finally {
            check.closeSync();
          }
          const snapshot = await snapshots.take([storeId]);
          const { connection } = await connectForQuery(duck, lakeDir, [storeId], ranges, snapshot);
          try {
            return await runQuery(connection, sql);
          } finally {
            connection.closeSync();
            snapshot.release();
          }
        });
        out.push({ rows: result.last.rows.length, ms: result.ms, answer: JSON.stringify(result.last.rows) });
      }
      return out;
    };
    const before = await facts();
    process.stderr.write(`lake-compaction bench: ${written} files, ${events} events; querying\n`);
    const queriedBefore = await measure();
    const compactor = new Compactor({ catalog, duck, lakeDir, snapshots, nowMs: () => Date.now() });
    const started = performance.now();
    let compactionRuns = 0;
    while ((await compactor.runOnce()) > 0) compactionRuns++;
    const compactionSeconds = (performance.now() - started) / 1000;
    await snapshots.deleteUnread();
    const after = await facts();
    process.stderr.write(`lake-compaction bench: compacted to ${after.files} files in ${round(compactionSeconds)} s\n`);
    const queriedAfter = await measure();
    return {
      name: "lake-compaction",
      events,
      runs: options.runs,
      filesBefore: before.files,
      bytesBefore: before.bytes,
      filesAfter: after.files,
      bytesAfter: after.bytes,
      partitions: before.partitions,
      compactionSeconds: round(compactionSeconds),
      compactionRuns,
      queries: queries.map((query, i) => {
        const [b, a] = [queriedBefore[i]!, queriedAfter[i]!];
        if (a.answer !== b.answer) throw new Error(`${query.name}: the answer changed with compaction`);
        return {
          query: query.name,
          rows: b.rows,
          beforeP50Ms: round(percentile(b.ms, 0.5)),
          afterP50Ms: round(percentile(a.ms, 0.5)),
          beforeP99Ms: round(percentile(b.ms, 0.99)),
          afterP99Ms: round(percentile(a.ms, 0.99)),
        };
      }),
    };
  } finally {
    duck.closeSync();
    await catalog.close();
    rmSync(lakeDir, { recursive: true, force: true });
  }
}

if (
  process.argv[1] !== undefined &&
  resolve(process.argv[1]) === resolve(import.meta.filename) &&
  process.argv[2] === "--compaction"
) {
  const result = await benchLakeCompaction({
    files: Number(process.argv[3] ?? 2000),
    eventsPerFile: Number(process.argv[4] ?? 50),
    runs: Number(process.argv[5] ?? 7),
  });
  console.log(
    `Lake compaction: ${result.events.toLocaleString("en-US")} events in ${result.filesBefore} files ` +
      `(${(result.bytesBefore / 1e6).toFixed(1)} MB) → ${result.filesAfter} files (${(result.bytesAfter / 1e6).toFixed(1)} MB) ` +
      `over ${result.partitions} partitions in ${result.compactionSeconds} s (${result.compactionRuns} runs); p50/p99 of ${result.runs} runs, ms`,
  );
  console.table(
    result.queries.map((q) => ({
      query: q.query,
      rows: q.rows,
      "before p50": q.beforeP50Ms,
      "after p50": q.afterP50Ms,
      "before p99": q.beforeP99Ms,
      "after p99": q.afterP99Ms,
    })),
  );
  const dir = resolve(import.meta.dirname, "../../bench/results");
  mkdirSync(dir, { recursive: true });
  const at = new Date().toISOString();
  const file = join(dir, `lake-compaction-${at.replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify({ ...result, at }, null, 2)}\n`);
  console.log(`written ${file}`);
}
