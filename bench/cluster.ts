import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { gunzipSync } from "node:zlib";
import {
  CloudTrailClient,
  CreateTrailCommand,
  LookupEventsCommand,
  StartLoggingCommand,
  type LookupAttribute,
} from "@aws-sdk/client-cloudtrail";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { startClusterEngines, type ClusterEngines } from "../test/helpers/cluster-engines.js";
import { loadSamples, recordGenerator, type RecordGenerator } from "./event-history-records.js";
import { cpuSecondsOf } from "./http-ingest.js";
import {
  BENCH_ACCESS_KEY_ID,
  BENCH_REGION,
  BENCH_SECRET,
  benchSigner,
  sendIngest,
  startBenchServer,
  type BenchServer,
} from "./server-process.js";
import { writeBenchResults } from "./results-file.js";

/**
 * One cluster node (PostgreSQL + nats-server + moto, all private to this run) against the embedded
 * server, alternated round by round in one run on the same box (issue #13: ≥ 0.7× the embedded
 * figures). Both servers deliver one trail to the same moto S3, so delivery latency is measured the
 * same way for both. Per round and mode:
 * 1. ingest throughput: `events` records in `batch`-record `POST /ingest` calls from `clients`
 *    concurrent clients, with the server's CPU per event and (cluster) the engines' CPU per event;
 * 2. LookupEvents p50/p99 through @aws-sdk/client-cloudtrail over what was ingested, per attribute;
 * 3. delivery latency at a steady `rate`: from each batch's acknowledgement to the poll of the bucket
 *    that finds its events in a log file (polls every 100 ms, so figures are ± 0.1 s);
 * 4. bytes per event: the journal (segment files / the JetStream stream), the index and control plane
 *    (SQLite files / the PostgreSQL database) and the trail's bucket — the sizing model's inputs
 *    (docs/reference/cluster-sizing.md).
 * Usage: node dist/bench/cluster.js [events=200000] [rounds=2] [clients=4] [batch=1000] [rate=2000]
 */
export interface ModeFigures {
  ingestEventsPerSec: number;
  serverCpuMicrosPerEvent: number;
  /** PostgreSQL + nats-server CPU per ingested event (0 for the embedded server). */
  enginesCpuMicrosPerEvent: number;
  /** The first LookupEvents after the load: it waits until the index holds every acknowledged event. */
  indexCatchUpMs: number;
  lookupP50Ms: Record<string, number>;
  lookupP99Ms: Record<string, number>;
  deliveryP50Ms: number;
  deliveryP99Ms: number;
  /** Bytes per journaled event: the journal (segment files or the JetStream stream). */
  journalBytesPerEvent: number;
  /** Bytes per journaled event: the Event history index and control plane (SQLite files or the PostgreSQL database). */
  databaseBytesPerEvent: number;
  /** Bytes per delivered event in the trail's bucket (gzip log files and digests). */
  trailBytesPerEvent: number;
}

interface Options {
  readonly events: number;
  readonly rounds: number;
  readonly clients: number;
  readonly batch: number;
  readonly rate: number;
}

const LOOKUPS_PER_CASE = 100;
const LATENCY_SECONDS = 15;
const DELIVERY_QUIET_MS = 10_000;
const S3_CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" };

/** Every process below `root` (its children, theirs, …), by /proc. */
function descendants(root: number): Array<{ pid: number; comm: string }> {
  const parents = new Map<number, { ppid: number; comm: string }>();
  for (const name of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)))
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      parents.set(Number(name), { ppid: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]), comm });
    } catch {
      // The process ended meanwhile.
    }
  const below = (pid: number): boolean => {
    for (let at = parents.get(pid); at !== undefined; at = parents.get(at.ppid)) if (at.ppid === root) return true;
    return false;
  };
  return [...parents].filter(([pid]) => below(pid)).map(([pid, { comm }]) => ({ pid, comm }));
}

/** CPU seconds so far of this run's PostgreSQL and nats-server processes. */
function enginesCpuSeconds(): number {
  return descendants(process.pid)
    .filter(({ comm }) => comm === "postgres" || comm === "nats-server")
    .reduce((sum, { pid }) => sum + cpuSecondsOf(pid), 0);
}

function buildBodies(generator: RecordGenerator, from: number, count: number, batch: number): Buffer[] {
  const bodies: Buffer[] = [];
  for (let start = from; start < from + count; start += batch) {
    const records = [];
    for (let i = start; i < Math.min(from + count, start + batch); i++) records.push(generator.record(i));
    bodies.push(Buffer.from(JSON.stringify({ Records: records })));
  }
  return bodies;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Number((sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0).toFixed(1));
}

async function ingestAll(
  server: BenchServer,
  bodies: readonly Buffer[],
  clients: number,
): Promise<Pick<ModeFigures, "ingestEventsPerSec" | "serverCpuMicrosPerEvent" | "enginesCpuMicrosPerEvent">> {
  const signer = benchSigner();
  const events = bodies.reduce((sum, body) => sum + (JSON.parse(body.toString()) as { Records: [] }).Records.length, 0);
  let next = 0;
  const [cpuBefore, enginesBefore] = [cpuSecondsOf(server.pid), enginesCpuSeconds()];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < bodies.length) await sendIngest(server.url, signer, bodies[next++]!);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    ingestEventsPerSec: Math.round(events / seconds),
    serverCpuMicrosPerEvent: Math.round(((cpuSecondsOf(server.pid) - cpuBefore) * 1e6) / events),
    enginesCpuMicrosPerEvent: Math.round(((enginesCpuSeconds() - enginesBefore) * 1e6) / events),
  };
}

/** The lookups a console or an analyst makes, with values the generated records hold. */
function lookupCases(generator: RecordGenerator): Array<[string, LookupAttribute[]]> {
  const record = generator.record(7);
  const cases: Array<[string, LookupAttribute[]]> = [
    ["none (newest 50)", []],
    ["EventName", [{ AttributeKey: "EventName", AttributeValue: record.eventName }]],
    ["EventSource", [{ AttributeKey: "EventSource", AttributeValue: record.eventSource }]],
  ];
  const user = record.userIdentity?.userName;
  if (user !== undefined) cases.push(["Username", [{ AttributeKey: "Username", AttributeValue: user }]]);
  const key = record.userIdentity?.accessKeyId;
  if (key !== undefined) cases.push(["AccessKeyId", [{ AttributeKey: "AccessKeyId", AttributeValue: key }]]);
  return cases;
}

async function lookupLatencies(
  server: BenchServer,
  generator: RecordGenerator,
): Promise<Pick<ModeFigures, "indexCatchUpMs" | "lookupP50Ms" | "lookupP99Ms">> {
  const client = new CloudTrailClient({
    endpoint: server.url,
    region: BENCH_REGION,
    credentials: { accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET },
  });
  const [p50, p99]: [Record<string, number>, Record<string, number>] = [{}, {}];
  try {
    // The first lookup waits until the index holds everything acknowledged (read-your-writes): timed apart.
    const started = performance.now();
    await client.send(new LookupEventsCommand({ MaxResults: 1 }));
    const indexCatchUpMs = Math.round(performance.now() - started);
    for (const [name, attributes] of lookupCases(generator)) {
      const times: number[] = [];
      for (let i = 0; i < LOOKUPS_PER_CASE; i++) {
        const started = performance.now();
        await client.send(new LookupEventsCommand({ LookupAttributes: attributes, MaxResults: 50 }));
        times.push(performance.now() - started);
      }
      [p50[name], p99[name]] = [percentile(times, 50), percentile(times, 99)];
    }
    return { indexCatchUpMs, lookupP50Ms: p50, lookupP99Ms: p99 };
  } finally {
    client.destroy();
  }
}

/** The eventIDs in the log files of `bucket` not read yet (`seen` holds the keys already read). */
async function newlyDelivered(s3: S3Client, bucket: string, seen: Set<string>): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const { Key } of page.Contents ?? []) {
      if (Key === undefined || seen.has(Key) || !Key.endsWith(".json.gz") || Key.includes("-Digest/")) continue;
      seen.add(Key);
      const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
      const file = JSON.parse(gunzipSync(await body.Body!.transformToByteArray()).toString()) as {
        Records: Array<{ eventID: string }>;
      };
      ids.push(...file.Records.map((record) => record.eventID));
    }
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return ids;
}

async function deliveryLatency(
  server: BenchServer,
  s3: S3Client,
  bucket: string,
  bodies: readonly Buffer[],
  rate: number,
  batch: number,
): Promise<Pick<ModeFigures, "deliveryP50Ms" | "deliveryP99Ms">> {
  const signer = benchSigner();
  const ackedAt = new Map<string, number>();
  const latencies: number[] = [];
  const seen = new Set<string>();
  let sending = true;
  // Data events are not in the trail (management events only): the poll ends once nothing new came for a while.
  let lastNewMs = performance.now();
  const poller = (async () => {
    while (sending || performance.now() - lastNewMs < DELIVERY_QUIET_MS) {
      const polledAt = performance.now();
      for (const id of await newlyDelivered(s3, bucket, seen)) {
        const acked = ackedAt.get(id);
        if (acked !== undefined) latencies.push(polledAt - acked);
        lastNewMs = polledAt;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const started = performance.now();
  for (const [index, body] of bodies.entries()) {
    const due = started + (index * batch * 1000) / rate;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    await sendIngest(server.url, signer, body);
    const acked = performance.now();
    for (const record of (JSON.parse(body.toString()) as { Records: Array<{ eventID: string }> }).Records)
      ackedAt.set(record.eventID, acked);
  }
  sending = false;
  await poller;
  return { deliveryP50Ms: Math.round(percentile(latencies, 50)), deliveryP99Ms: Math.round(percentile(latencies, 99)) };
}

/** Total size of the files under `path` (a file or a directory). */
function bytesUnder(path: string): number {
  try {
    const stat = statSync(path);
    if (!stat.isDirectory()) return stat.size;
    return readdirSync(path).reduce((sum, name) => sum + bytesUnder(join(path, name)), 0);
  } catch {
    return 0;
  }
}

async function bucketBytes(s3: S3Client, bucket: string): Promise<number> {
  let bytes = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    bytes += (page.Contents ?? []).reduce((sum, object) => sum + (object.Size ?? 0), 0);
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return bytes;
}

/** The journal's and the database's bytes: embedded from the data dir, cluster from JetStream and PostgreSQL. */
async function storedBytes(
  dataDir: string,
  cluster: { readonly natsUrls: readonly string[]; readonly stream: string; readonly databaseUrl: string } | undefined,
): Promise<{ journal: number; database: number; events: number }> {
  if (cluster === undefined) {
    const database = ["event-history.db", "event-history.db-wal", "control-plane.db", "control-plane.db-wal"];
    return {
      journal: bytesUnder(join(dataDir, "journal")),
      database: database.reduce((sum, name) => sum + bytesUnder(join(dataDir, name)), 0),
      events: 0,
    };
  }
  const connection = await connect({ servers: [...cluster.natsUrls] });
  const client = new pg.Client({ connectionString: cluster.databaseUrl });
  try {
    const info = await (await jetstreamManager(connection)).streams.info(cluster.stream);
    await client.connect();
    const size = await client.query<{ bytes: string }>("SELECT pg_database_size(current_database()) AS bytes");
    return { journal: info.state.bytes, database: Number(size.rows[0]!.bytes), events: info.state.messages };
  } finally {
    await connection.close();
    await client.end();
  }
}

async function startTrail(server: BenchServer, s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const client = new CloudTrailClient({
    endpoint: server.url,
    region: BENCH_REGION,
    credentials: { accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET },
  });
  try {
    await client.send(new CreateTrailCommand({ Name: "bench", S3BucketName: bucket, IsMultiRegionTrail: true }));
    await client.send(new StartLoggingCommand({ Name: "bench" }));
  } finally {
    client.destroy();
  }
}

async function runMode(
  mode: "embedded" | "cluster",
  engines: ClusterEngines,
  s3: S3Client,
  round: number,
  options: Options,
): Promise<ModeFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), `cairn-bench-${mode}-`));
  const s3Env = {
    CAIRN_S3_ENDPOINT: engines.moto.endpoint,
    CAIRN_S3_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
    CAIRN_S3_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
    CAIRN_S3_FORCE_PATH_STYLE: "true",
    CAIRN_DELIVERY_INTERVAL_SECONDS: "1",
  };
  const database = mode === "cluster" ? await engines.postgres.createDatabase() : undefined;
  const stream = `bench-${round}`;
  const env =
    database === undefined
      ? s3Env
      : {
          ...engines.nodeEnv("bench-node", s3Env),
          CAIRN_DATABASE_URL: database.url,
          CAIRN_JOURNAL_STREAM: stream,
        };
  const server = await startBenchServer(dataDir, env);
  const bucket = `bench-${mode}-${round}`;
  // Records of the last hour; each run takes its own range of them, so ids never meet across runs.
  const latencyEvents = LATENCY_SECONDS * options.rate;
  const perRun = latencyEvents + options.events;
  const generator = recordGenerator(loadSamples(), perRun * options.rounds * 2, Date.now() - 3_600_000, Date.now());
  const offset = (round * 2 + (mode === "cluster" ? 1 : 0)) * perRun;
  const shifted: RecordGenerator = { record: (i) => generator.record(offset + i) };
  try {
    await startTrail(server, s3, bucket);
    const delivery = await deliveryLatency(
      server,
      s3,
      bucket,
      buildBodies(shifted, 0, latencyEvents, options.batch),
      options.rate,
      options.batch,
    );
    const ingest = await ingestAll(
      server,
      buildBodies(shifted, latencyEvents, options.events, options.batch),
      options.clients,
    );
    const lookups = await lookupLatencies(server, shifted);
    const cluster =
      database === undefined ? undefined : { natsUrls: engines.nats.urls, stream, databaseUrl: database.url };
    const stored = await storedBytes(dataDir, cluster);
    // Embedded: the events ingested plus the server's own records of the bench's API calls (about 1 %).
    const events = stored.events || perRun;
    const delivered = (await bucketBytes(s3, bucket)) / perRun;
    return {
      ...ingest,
      ...lookups,
      ...delivery,
      journalBytesPerEvent: Math.round(stored.journal / events),
      databaseBytesPerEvent: Math.round(stored.database / events),
      trailBytesPerEvent: Math.round(delivered),
    };
  } finally {
    await server.stop();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle]!;
  return sorted.length === 0 ? 0 : Number(((sorted[middle - 1]! + sorted[middle]!) / 2).toFixed(1));
}

/** Per figure, the median over rounds (records of figures by name, e.g. lookup cases, per name). */
function medians(runs: readonly ModeFigures[]): ModeFigures {
  const first = runs[0]!;
  const of = (pick: (run: ModeFigures) => number): number => median(runs.map(pick));
  const byName = (pick: (run: ModeFigures) => Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.keys(pick(first)).map((name) => [name, of((run) => pick(run)[name] ?? 0)]));
  return {
    ingestEventsPerSec: of((run) => run.ingestEventsPerSec),
    serverCpuMicrosPerEvent: of((run) => run.serverCpuMicrosPerEvent),
    enginesCpuMicrosPerEvent: of((run) => run.enginesCpuMicrosPerEvent),
    indexCatchUpMs: of((run) => run.indexCatchUpMs),
    lookupP50Ms: byName((run) => run.lookupP50Ms),
    lookupP99Ms: byName((run) => run.lookupP99Ms),
    deliveryP50Ms: of((run) => run.deliveryP50Ms),
    deliveryP99Ms: of((run) => run.deliveryP99Ms),
    journalBytesPerEvent: of((run) => run.journalBytesPerEvent),
    databaseBytesPerEvent: of((run) => run.databaseBytesPerEvent),
    trailBytesPerEvent: of((run) => run.trailBytesPerEvent),
  };
}

export interface ClusterBench {
  readonly name: "cluster";
  readonly options: Options;
  readonly embedded: ModeFigures;
  readonly cluster: ModeFigures;
  readonly rounds: Array<{ embedded: ModeFigures; cluster: ModeFigures }>;
}

export async function benchCluster(options: Options): Promise<ClusterBench> {
  const engines = await startClusterEngines();
  const s3 = new S3Client({
    endpoint: engines.moto.endpoint,
    region: BENCH_REGION,
    forcePathStyle: true,
    credentials: S3_CREDENTIALS,
  });
  const rounds: Array<{ embedded: ModeFigures; cluster: ModeFigures }> = [];
  try {
    for (let round = 0; round < options.rounds; round++) {
      const embedded = await runMode("embedded", engines, s3, round, options);
      const cluster = await runMode("cluster", engines, s3, round, options);
      rounds.push({ embedded, cluster });
    }
  } finally {
    s3.destroy();
    await engines.stop();
  }
  return {
    name: "cluster",
    options,
    embedded: medians(rounds.map((r) => r.embedded)),
    cluster: medians(rounds.map((r) => r.cluster)),
    rounds,
  };
}

export function printClusterBench(result: ClusterBench): void {
  const { embedded, cluster } = result;
  const ratio = (a: number, b: number): string => (b === 0 ? "—" : `${(a / b).toFixed(2)}x`);
  console.log(`\nOne cluster node vs the embedded server (${result.options.events} events, medians of rounds)`);
  const rows = [
    ["ingest events/s (higher is better)", embedded.ingestEventsPerSec, cluster.ingestEventsPerSec, true],
    ["server CPU µs/event", embedded.serverCpuMicrosPerEvent, cluster.serverCpuMicrosPerEvent, false],
    ["PostgreSQL + NATS CPU µs/event", embedded.enginesCpuMicrosPerEvent, cluster.enginesCpuMicrosPerEvent, false],
    ["index catch-up after the load ms", embedded.indexCatchUpMs, cluster.indexCatchUpMs, false],
    ["journal bytes/event", embedded.journalBytesPerEvent, cluster.journalBytesPerEvent, false],
    ["index + control plane bytes/event", embedded.databaseBytesPerEvent, cluster.databaseBytesPerEvent, false],
    ["trail bucket bytes per ingested event", embedded.trailBytesPerEvent, cluster.trailBytesPerEvent, false],
    ["delivery latency p50 ms", embedded.deliveryP50Ms, cluster.deliveryP50Ms, false],
    ["delivery latency p99 ms", embedded.deliveryP99Ms, cluster.deliveryP99Ms, false],
    ...Object.keys(embedded.lookupP99Ms).flatMap((name) => [
      [`LookupEvents ${name} p50 ms`, embedded.lookupP50Ms[name]!, cluster.lookupP50Ms[name]!, false],
      [`LookupEvents ${name} p99 ms`, embedded.lookupP99Ms[name]!, cluster.lookupP99Ms[name]!, false],
    ]),
  ] as Array<[string, number, number, boolean]>;
  console.table(
    rows.map(([figure, e, c, higherIsBetter]) => ({
      figure,
      embedded: e,
      cluster: c,
      "cluster as a share of embedded": higherIsBetter ? ratio(c, e) : ratio(e, c),
    })),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [events, rounds, clients, batch, rate] = process.argv.slice(2).map(Number);
  const result = await benchCluster({
    events: events || 200_000,
    rounds: rounds || 2,
    clients: clients || 4,
    batch: batch || 1000,
    rate: rate || 2000,
  });
  printClusterBench(result);
  writeBenchResults("cluster", result);
  console.log(JSON.stringify(result, null, 2));
}
