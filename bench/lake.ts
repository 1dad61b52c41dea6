import { importDirectory, percentile, runLakeQuery } from "./lake-api.js";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { CloudTrailClient, CreateEventDataStoreCommand } from "@aws-sdk/client-cloudtrail";
import { DuckDBInstance } from "@duckdb/node-api";
import { toEventTime } from "../src/lib/clock.js";
import { writeBenchResults } from "./results-file.js";
import { loadSamples, recordGenerator, type RecordGenerator } from "./event-history-records.js";
import {
  BENCH_ACCESS_KEY_ID,
  BENCH_REGION,
  BENCH_SECRET,
  benchSigner,
  rssOf,
  sendIngest,
  startBenchServer,
} from "./server-process.js";

/**
 * CloudTrail Lake on Cairn: import a gzip trail archive of N synthetic events (the Event history
 * generator) with StartImport `file://…`, then run typical aggregates through StartQuery /
 * GetQueryResults, side by side with DuckDB scanning the same gzip trail files directly (the
 * alternative without a Lake); plus freshness (ingest ack → queryable) and bytes per event on disk.
 * Usage: node dist/bench/lake.js [events=1000000] [--import-only] (the README's figure: 10000000).
 */

export interface LakeQueryFigure {
  readonly query: string;
  readonly rows: number;
  readonly cairnP50Ms: number;
  readonly cairnP99Ms: number;
  readonly duckdbOverGzipMs: number;
  readonly speedUp: number;
}

export interface LakeBench {
  readonly name: "lake";
  readonly events: number;
  readonly archiveBytesPerEvent: number;
  readonly importSeconds: number;
  readonly importEventsPerSec: number;
  readonly storeBytesPerEvent: number;
  readonly storeFiles: number;
  readonly queries: LakeQueryFigure[];
  readonly freshnessP50Ms: number;
  readonly freshnessP99Ms: number;
  readonly serverRssBytes: number;
  readonly cairnRuns: number;
  readonly duckdbRuns: number;
}

const round = (value: number): number => Math.round(value * 10) / 10;

function directoryBytes(path: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) {
      const inner = directoryBytes(child);
      bytes += inner.bytes;
      files += inner.files;
    } else {
      bytes += statSync(child).size;
      files++;
    }
  }
  return { bytes, files };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Writes the events as gzip trail log files of 1,000 records; returns the archive's size. */
export function writeArchive(directory: string, generator: RecordGenerator, events: number): number {
  const started = performance.now();
  let bytes = 0;
  for (let start = 0, file = 0; start < events; start += 1000, file++) {
    const records = [];
    for (let i = start; i < Math.min(events, start + 1000); i++) records.push(generator.record(i));
    const body = gzipSync(JSON.stringify({ Records: records }));
    bytes += body.length;
    writeFileSync(join(directory, `${String(file).padStart(7, "0")}.json.gz`), body);
  }
  process.stderr.write(
    `lake bench: ${events} events written as gzip trail files in ${Math.round(performance.now() - started)} ms\n`,
  );
  return bytes;
}

/** StartImport file://… and wait for COMPLETED; returns the seconds it took. */
async function importArchive(
  client: CloudTrailClient,
  storeId: string,
  directory: string,
  events: number,
): Promise<number> {
  const { seconds, imported } = await importDirectory(client, storeId, directory);
  if (imported !== events) throw new Error(`imported ${imported} of ${events} events`);
  process.stderr.write(`lake bench: import took ${seconds.toFixed(1)} s\n`);
  return seconds;
}

/** Ingest ack → the event is returned by a query on a store that ingests live events (ms, per round). */
async function measureFreshness(
  client: CloudTrailClient,
  url: string,
  generator: RecordGenerator,
  rounds = 10,
): Promise<number[]> {
  const liveId = (
    await client.send(new CreateEventDataStoreCommand({ Name: "live", TerminationProtectionEnabled: false }))
  ).EventDataStoreArn!.split("/")[1]!;
  const signer = benchSigner();
  const freshness: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const record = { ...generator.record(round), eventTime: toEventTime(Date.now()) };
    await sendIngest(url, signer, Buffer.from(JSON.stringify({ Records: [record] })));
    const acked = performance.now();
    const sql = `SELECT eventID FROM ${liveId} WHERE eventID = '${record.eventID}'`;
    while ((await runLakeQuery(client, sql)) === 0) await sleep(10);
    freshness.push(performance.now() - acked);
    await sleep(137 * (round % 7)); // different phases of the flush interval
  }
  return freshness;
}

interface BenchQuery {
  readonly name: string;
  /** The query over a table expression with Lake columns (`T` is replaced by the store or the view). */
  readonly sql: string;
}

function queries(day: string, nextDay: string, eventName: string): BenchQuery[] {
  return [
    {
      name: "count by eventSource",
      sql: "SELECT eventSource, count(*) AS n FROM T GROUP BY eventSource ORDER BY n DESC",
    },
    {
      name: "count by eventName",
      sql: "SELECT eventName, count(*) AS n FROM T GROUP BY eventName ORDER BY n DESC LIMIT 100",
    },
    {
      name: "count by userIdentity.arn",
      sql: "SELECT userIdentity.arn AS arn, count(*) AS n FROM T GROUP BY 1 ORDER BY n DESC LIMIT 100",
    },
    {
      name: "errors by user",
      sql:
        "SELECT userIdentity.arn AS arn, count(*) AS n FROM T WHERE errorCode IS NOT NULL " +
        "GROUP BY 1 ORDER BY n DESC LIMIT 100",
    },
    {
      name: "hourly histogram over a day",
      sql:
        "SELECT date_trunc('hour', eventTime) AS h, count(*) AS n FROM T " +
        `WHERE eventTime >= '${day} 00:00:00' AND eventTime < '${nextDay} 00:00:00' GROUP BY 1 ORDER BY 1`,
    },
    {
      name: `selective: ${eventName} with errorCode`,
      sql:
        "SELECT eventTime, userIdentity.arn AS arn, errorCode FROM T " +
        `WHERE eventName = '${eventName}' AND errorCode IS NOT NULL ORDER BY eventTime DESC LIMIT 100`,
    },
  ];
}

export interface LakeImportBench {
  readonly name: "lake-import";
  readonly events: number;
  readonly files: number;
  readonly archiveBytesPerEvent: number;
  readonly importSeconds: number;
  readonly importEventsPerSec: number;
  /** The same archive imported again into the same store: every event a duplicate. */
  readonly reimportSeconds: number;
  readonly reimportEventsPerSec: number;
  readonly storeBytesPerEvent: number;
  readonly storeFiles: number;
  readonly serverRssBytes: number;
  /** DuckDB alone on the same archive: `COPY (SELECT unnest(Records) FROM read_json(…)) TO … parquet`. */
  readonly duckdbSeconds: number;
  readonly duckdbEventsPerSec: number;
  /** importEventsPerSec / duckdbEventsPerSec: the goal of issue #15 is ≥ 1. */
  readonly importOverDuckdb: number;
}

/**
 * DuckDB alone turning the archive into Parquet, no rules, de-duplication or catalog: the rate an
 * import is measured against. Its own instance, default threads, after the server's import is done.
 */
async function duckdbCopySeconds(archive: string, outDir: string): Promise<number> {
  const duck = await DuckDBInstance.create(":memory:");
  try {
    const connection = await duck.connect();
    const glob = join(archive, "*.json.gz").replaceAll("'", "''");
    const target = join(outDir, "duckdb.parquet").replaceAll("'", "''");
    const started = performance.now();
    await connection.run(
      `COPY (SELECT unnest(Records) FROM read_json('${glob}', maximum_object_size = 1073741824)) TO '${target}' (FORMAT parquet)`,
    );
    const seconds = (performance.now() - started) / 1000;
    connection.closeSync();
    process.stderr.write(`lake bench: DuckDB alone took ${seconds.toFixed(1)} s\n`);
    return seconds;
  } finally {
    duck.closeSync();
  }
}

/**
 * Import only: the archive into a fresh store, then the same archive again (adds 0). Set
 * LAKE_BENCH_SERVER_NODE_OPTIONS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) to profile the server.
 */
export async function benchLakeImport(options: { events?: number } = {}): Promise<LakeImportBench> {
  const events = options.events ?? 1_000_000;
  const archive = mkdtempSync(join(tmpdir(), "cairn-bench-lake-archive-"));
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-bench-lake-data-"));
  let server: Awaited<ReturnType<typeof startBenchServer>> | undefined;
  let client: CloudTrailClient | undefined;
  try {
    const lastMs = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    const firstMs = lastMs - 30 * 86_400_000;
    const generator = recordGenerator(loadSamples(), events, firstMs, lastMs);
    const archiveBytes = writeArchive(archive, generator, events);
    const serverOptions = process.env["LAKE_BENCH_SERVER_NODE_OPTIONS"];
    // Node flags go on the command line: NODE_OPTIONS does not allow --cpu-prof.
    server = await startBenchServer(
      dataDir,
      { CAIRN_IMPORT_ALLOWED_DIRS: archive },
      serverOptions ? serverOptions.split(/\s+/).filter(Boolean) : [],
    );
    client = new CloudTrailClient({
      endpoint: server.url,
      region: BENCH_REGION,
      credentials: { accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET },
      maxAttempts: 1,
    });
    const storeId = (
      await client.send(
        new CreateEventDataStoreCommand({ Name: "bench", TerminationProtectionEnabled: false, StartIngestion: false }),
      )
    ).EventDataStoreArn!.split("/")[1]!;
    const importSeconds = await importArchive(client, storeId, archive, events);
    const reimportSeconds = await importArchive(client, storeId, archive, 0);
    const store = directoryBytes(join(dataDir, "lake", storeId));
    const serverRssBytes = rssOf(server.pid);
    const duckdbSeconds = await duckdbCopySeconds(archive, dataDir);
    return {
      name: "lake-import",
      events,
      files: Math.ceil(events / 1000),
      archiveBytesPerEvent: Math.round(archiveBytes / events),
      importSeconds: Math.round(importSeconds * 100) / 100,
      importEventsPerSec: Math.round(events / importSeconds),
      reimportSeconds: Math.round(reimportSeconds * 100) / 100,
      reimportEventsPerSec: Math.round(events / reimportSeconds),
      storeBytesPerEvent: Math.round(store.bytes / events),
      storeFiles: store.files,
      serverRssBytes,
      duckdbSeconds: Math.round(duckdbSeconds * 100) / 100,
      duckdbEventsPerSec: Math.round(events / duckdbSeconds),
      importOverDuckdb: Math.round((duckdbSeconds / importSeconds) * 1000) / 1000,
    };
  } finally {
    client?.destroy();
    await server?.stop();
    rmSync(archive, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchLake(
  options: { events?: number; cairnRuns?: number; duckdbRuns?: number } = {},
): Promise<LakeBench> {
  const events = options.events ?? 1_000_000;
  const cairnRuns = options.cairnRuns ?? 5;
  const duckdbRuns = options.duckdbRuns ?? (events > 200_000 ? 1 : 5);
  const archive = mkdtempSync(join(tmpdir(), "cairn-bench-lake-archive-"));
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-bench-lake-data-"));
  let server: Awaited<ReturnType<typeof startBenchServer>> | undefined;
  let client: CloudTrailClient | undefined;
  try {
    // The archive: 1,000 records per gzip file, over the last 30 days (inside the default retention).
    const lastMs = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    const firstMs = lastMs - 30 * 86_400_000;
    const samples = loadSamples();
    const generator = recordGenerator(samples, events, firstMs, lastMs);
    const archiveBytes = writeArchive(archive, generator, events);

    server = await startBenchServer(dataDir, { CAIRN_IMPORT_ALLOWED_DIRS: archive });
    client = new CloudTrailClient({
      endpoint: server.url,
      region: BENCH_REGION,
      credentials: { accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET },
      maxAttempts: 1,
    });
    const storeId = (
      await client.send(
        new CreateEventDataStoreCommand({ Name: "bench", TerminationProtectionEnabled: false, StartIngestion: false }),
      )
    ).EventDataStoreArn!.split("/")[1]!;

    const importSeconds = await importArchive(client, storeId, archive, events);
    const store = directoryBytes(join(dataDir, "lake", storeId));

    // Queries: a day in the middle of the window, and an eventName that has errors.
    const middle = new Date((firstMs + lastMs) / 2);
    const day = middle.toISOString().slice(0, 10);
    const nextDay = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const eventName = samples.find((s) => s.errorCode !== undefined)?.eventName ?? samples[0]!.eventName;
    const duck = await DuckDBInstance.create(":memory:");
    const connection = await duck.connect();
    // The alternative: DuckDB reading the gzip trail files as they are, each query a full scan.
    const glob = join(archive, "*.json.gz").replaceAll("'", "''");
    const recordType =
      "STRUCT(eventTime VARCHAR, eventSource VARCHAR, eventName VARCHAR, errorCode VARCHAR, userIdentity STRUCT(arn VARCHAR))";
    await connection.run(
      `CREATE VIEW trail AS SELECT r.eventSource, r.eventName, r.errorCode, r.userIdentity, ` +
        `CAST(r.eventTime AS TIMESTAMP) AS eventTime FROM (SELECT unnest(Records) AS r FROM ` +
        `read_json('${glob}', format = 'auto', columns = {Records: '${recordType}[]'}, maximum_object_size = 1073741824))`,
    );
    const figures: LakeQueryFigure[] = [];
    for (const query of queries(day, nextDay, eventName)) {
      const cairnMs: number[] = [];
      let rows = 0;
      await runLakeQuery(client, query.sql.replaceAll(" T ", ` ${storeId} `)); // warm-up
      for (let run = 0; run < cairnRuns; run++) {
        const started = performance.now();
        rows = await runLakeQuery(client, query.sql.replaceAll(" T ", ` ${storeId} `));
        cairnMs.push(performance.now() - started);
      }
      const directMs: number[] = [];
      let directRows = 0;
      for (let run = 0; run < duckdbRuns; run++) {
        const started = performance.now();
        directRows = (await connection.runAndReadAll(query.sql.replaceAll(" T ", " trail "))).currentRowCount;
        directMs.push(performance.now() - started);
      }
      if (directRows !== rows)
        process.stderr.write(`lake bench: ${query.name}: Cairn ${rows} rows, DuckDB over gzip ${directRows}\n`);
      const p50 = percentile(cairnMs, 0.5);
      const direct = percentile(directMs, 0.5);
      figures.push({
        query: query.name,
        rows,
        cairnP50Ms: round(p50),
        cairnP99Ms: round(percentile(cairnMs, 0.99)),
        duckdbOverGzipMs: round(direct),
        speedUp: Math.round(direct / Math.max(p50, 0.1)),
      });
      process.stderr.write(`lake bench: ${query.name}: ${round(p50)} ms vs ${round(direct)} ms\n`);
    }
    connection.closeSync();
    duck.closeSync();

    const freshness = await measureFreshness(client, server.url, generator);
    const serverRssBytes = rssOf(server.pid);

    return {
      name: "lake",
      events,
      archiveBytesPerEvent: Math.round(archiveBytes / events),
      importSeconds: round(importSeconds),
      importEventsPerSec: Math.round(events / importSeconds),
      storeBytesPerEvent: Math.round(store.bytes / events),
      storeFiles: store.files,
      queries: figures,
      freshnessP50Ms: Math.round(percentile(freshness, 0.5)),
      freshnessP99Ms: Math.round(percentile(freshness, 0.99)),
      serverRssBytes,
      cairnRuns,
      duckdbRuns,
    };
  } finally {
    client?.destroy();
    await server?.stop();
    rmSync(archive, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function printLakeBench(result: LakeBench): void {
  console.log(
    `\nCloudTrail Lake over ${result.events.toLocaleString("en")} events: StartQuery → last page of GetQueryResults ` +
      `(${result.cairnRuns} runs) vs DuckDB scanning the gzip trail files (${result.duckdbRuns} runs, median)`,
  );
  console.table(
    result.queries.map((q) => ({
      query: q.query,
      rows: q.rows,
      "cairn p50 ms": q.cairnP50Ms,
      "cairn p99 ms": q.cairnP99Ms,
      "duckdb over gzip ms": q.duckdbOverGzipMs,
      "speed-up": `${q.speedUp}x`,
    })),
  );
  console.table([
    { figure: "import rate (events/s, StartImport file://)", value: result.importEventsPerSec },
    { figure: "import time (s)", value: result.importSeconds },
    { figure: "store bytes per event (Parquet zstd)", value: result.storeBytesPerEvent },
    { figure: "gzip trail archive bytes per event", value: result.archiveBytesPerEvent },
    { figure: "store files", value: result.storeFiles },
    { figure: "freshness p50 (ingest ack → queryable, ms)", value: result.freshnessP50Ms },
    { figure: "freshness p99 (ms)", value: result.freshnessP99Ms },
    { figure: "server RSS after the run (MB)", value: Math.round(result.serverRssBytes / 1e6) },
  ]);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const events = Number(args.find((a) => !a.startsWith("--")) ?? "1000000");
  if (args.includes("--import-only")) {
    // node dist/bench/lake.js 1000000 --import-only: writes bench/results/lake-import-<time>.json
    const result = await benchLakeImport({ events });
    const versusDuckdb = (value: number): string =>
      `${value} (${(value / result.duckdbEventsPerSec).toFixed(2)}× DuckDB)`;
    console.table([
      { figure: "import rate (events/s, StartImport file://)", value: versusDuckdb(result.importEventsPerSec) },
      { figure: "DuckDB alone (events/s, read_json → Parquet)", value: result.duckdbEventsPerSec },
      { figure: "import time (s)", value: result.importSeconds },
      { figure: "re-import rate (events/s, all duplicates)", value: versusDuckdb(result.reimportEventsPerSec) },
      { figure: "store bytes per event (Parquet zstd)", value: result.storeBytesPerEvent },
      { figure: "store files", value: result.storeFiles },
      { figure: "server RSS after the run (MB)", value: Math.round(result.serverRssBytes / 1e6) },
    ]);
    const file = writeBenchResults("lake-import", { ...result, at: new Date().toISOString() });
    console.log(JSON.stringify(result, null, 2));
    console.log(`written to ${file}`);
  } else {
    const result = await benchLake({ events });
    printLakeBench(result);
    console.log(JSON.stringify(result, null, 2));
  }
}
