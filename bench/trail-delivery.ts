import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { TrailDeliverer } from "../src/consumers/trail-delivery/trail-deliverer.js";
import { openFileJournal } from "../src/journal/file-journal.js";
import { toEventTime, type Clock } from "../src/lib/clock.js";
import type { CloudTrailRecord } from "../src/model/record.js";
import { DEFAULT_BASIC_SELECTOR } from "../src/selectors/basic-selectors.js";
import { compileEventSelectors } from "../src/selectors/selector-matcher.js";
import { openFilesystemObjectStore } from "../src/stores/objects/filesystem-object-store.js";
import { openFileSigningKeyStore } from "../src/stores/signing-keys/signing-keys.js";
import { masterKeyOf } from "../src/lib/secret-envelope.js";
import { randomBytes } from "node:crypto";
import { openSqliteTrailStore } from "../src/stores/trails/sqlite-trail-store.js";
import { openFileDeliveryStateStore } from "../src/stores/trails/file-delivery-state-store.js";
import type { TrailConfig } from "../src/stores/trails/trail.js";
import { trailArnOf } from "../src/control-plane/trails/trail-names.js";
import { writeBenchResults } from "./results-file.js";
import { BENCH_ACCOUNT, loadSamples, recordGenerator, type RecordGenerator } from "./event-history-records.js";
import {
  BENCH_ACCESS_KEY_ID,
  BENCH_REGION,
  BENCH_SECRET,
  CLI,
  benchSigner,
  rssOf,
  sendIngest,
  startBenchServer,
  type BenchServer,
} from "./server-process.js";

/**
 * Trail delivery (issue "Trails"), against a real `cairn server` with embedded buckets and
 * `CAIRN_DELIVERY_INTERVAL_SECONDS=1`, one multi-Region trail with log file validation made with
 * `@aws-sdk/client-cloudtrail` (CreateTrail, StartLogging):
 *
 * 1. Latency: a steady ingest rate (`batch`-record batches on a fixed schedule) for `latencySeconds`,
 *    once per rate in `rates`; per event, from the `/ingest` acknowledgement arriving at the client
 *    to the first poll (every 20 ms) of the bucket directory that finds it in a log file. The
 *    default rates are the goal's 10,000 events/s and 5,000 events/s: on a small machine 10,000
 *    may exceed what durable ingest itself sustains (see achievedEventsPerSec), and latency is then
 *    backlog. Alternative: AWS delivers "on average within about 5 minutes" of the API call.
 * 2. Throughput: `throughputEvents` ingested as fast as the clients can (as http-ingest.ts does);
 *    events/s from the first send until the last event is readable in the bucket, against the ingest rate.
 * 3. A day of trail output (1,440 one-minute log files of `dayEventsPerFile` events, 24 hourly
 *    signed digests) made by the real TrailDeliverer in-process on a simulated clock, then checked
 *    by `cairn validate-logs` (offline `--bucket-dir`, and through the server's S3 endpoint) and by
 *    the real `aws cloudtrail validate-logs` when it is installed. `dayFiles` below 1440 scales the
 *    day down; the result then says so and extrapolates linearly.
 *
 * Usage: node dist/bench/trail-delivery.js [--latency-seconds=30] [--rates=10000,5000] [--batch=500]
 *   [--throughput-events=200000] [--clients=4] [--throughput-batch=1000] [--day-files=1440]
 *   [--day-events-per-file=200] [--no-aws-cli]. `--rates=` (empty) and `--day-files=0` leave those phases out.
 * CAIRN_BENCH_INGEST_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the servers. The results
 * go to bench/results/trail-delivery-<time>.json too (writeBenchResults).
 */
export interface TrailDeliveryOptions {
  readonly latencySeconds?: number;
  /** Steady ingest rates, one latency run each (default 10,000 and 5,000 events/s). */
  readonly latencyRates?: readonly number[];
  readonly latencyBatch?: number;
  readonly throughputEvents?: number;
  readonly throughputClients?: number;
  readonly throughputBatch?: number;
  readonly dayFiles?: number;
  readonly dayEventsPerFile?: number;
  /** Run `aws cloudtrail validate-logs` too (default: when `aws` is on the PATH). */
  readonly awsCli?: boolean;
}

export interface ValidateTiming {
  readonly tool: string;
  readonly seconds: number;
  readonly filesPerSec: number;
  readonly exitCode: number;
  /** The tool's own summary lines ("24/24 digest files valid", …). */
  readonly summary: string;
}

export interface LatencyRun {
  readonly targetEventsPerSec: number;
  readonly achievedEventsPerSec: number;
  readonly seconds: number;
  readonly batchRecords: number;
  readonly events: number;
  readonly delivered: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly logFiles: number;
  /** The alternative: AWS CloudTrail's documented average delivery delay. */
  readonly awsAverageMs: number;
}

export interface TrailDeliveryBench {
  readonly name: "trail-delivery";
  readonly deliveryIntervalSeconds: number;
  /** One run per rate asked for: the goal's rate, and one this machine can ingest with room to spare. */
  readonly latency: LatencyRun[];
  readonly throughput: {
    readonly events: number;
    readonly clients: number;
    readonly batchRecords: number;
    readonly ingestEventsPerSec: number;
    readonly deliveredEventsPerSec: number;
    readonly ratioToIngest: number;
    /** From the last acknowledgement to the last event readable in the bucket. */
    readonly tailMs: number;
    /**
     * Per event under this saturating load, acknowledgement → readable: delivery keeps up when these
     * stay near the latency at a steady rate instead of growing with the run (ratioToIngest includes
     * the last events' wait for their file, so it reaches 1 only as the run grows long).
     */
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly maxMs: number;
    /** Share of the events readable in the bucket when the last acknowledgement arrived. */
    readonly readableAtLastAck: number;
    /**
     * Delivery's rate over ingest's while both run (from a quarter of the ingest time to its end),
     * from how the lag grew (steadyLagOf). At 1.0 the lag stays level, so delivery keeps up
     * however long the run; ratioToIngest cannot reach 1.0 in a finite run.
     */
    readonly steadyRatio: number;
    /** Seconds between the newest readable event's acknowledgement and each sample, while ingesting. */
    readonly lagSeconds: { readonly p50: number; readonly max: number; readonly atEnd: number };
    readonly logFiles: number;
    readonly serverRssBytes: number;
  };
  /** Left out with `--day-files=0`. */
  readonly day?: {
    readonly logFiles: number;
    readonly digests: number;
    readonly eventsPerFile: number;
    /** 1 for a full day; otherwise the factor the figures below were multiplied by. */
    readonly extrapolationFactor: number;
    readonly generateSeconds: number;
    readonly bucketBytes: number;
    readonly validate: ValidateTiming[];
    /** Seconds for a full day (1,440 files + 24 digests) per tool, measured × extrapolationFactor. */
    readonly daySecondsByTool: Record<string, number>;
  };
}

const DELIVERY_INTERVAL_SECONDS = 1;
const AWS_AVERAGE_DELIVERY_MS = 5 * 60 * 1000;
const BUCKET = "cairn-bench-trail";
const TRAIL = "bench-trail";
const POLL_MS = 20;
const DELIVERY_WAIT_MS = 60_000;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const EVENT_ID = /"eventID":"([^"]+)"/g;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const gunzipAsync = promisify(gunzip);

/**
 * Finds log files as they land in the embedded bucket directory and remembers, per eventID, the
 * first poll that saw a file holding it. Objects are renamed into place whole, so a listed file is complete.
 */
class BucketWatcher {
  readonly seen = new Map<string, number>();
  private readonly files = new Set<string>();
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly logRoot: string) {}

  get fileCount(): number {
    return this.files.size;
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.poll();
        await sleep(POLL_MS);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async poll(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.logRoot, { recursive: true });
    } catch {
      return;
    }
    const listedAt = performance.now();
    for (const name of names) {
      if (!name.endsWith(".json.gz") || this.files.has(name)) continue;
      this.files.add(name);
      const text = (await gunzipAsync(await readFile(join(this.logRoot, name)))).toString("utf8");
      for (const match of text.matchAll(EVENT_ID)) {
        if (!this.seen.has(match[1]!)) this.seen.set(match[1]!, listedAt);
      }
    }
  }

  /** Resolves when every id was seen (or after `timeoutMs`); returns how many were. */
  async waitFor(ids: readonly string[], timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    let next = 0;
    while (performance.now() < deadline) {
      while (next < ids.length && this.seen.has(ids[next]!)) next++;
      if (next === ids.length) return next;
      await sleep(POLL_MS);
    }
    return ids.filter((id) => this.seen.has(id)).length;
  }
}

interface Batch {
  readonly body: Buffer;
  readonly ids: string[];
}

function makeBatches(generator: RecordGenerator, from: number, count: number, batch: number): Batch[] {
  const batches: Batch[] = [];
  for (let start = from; start < from + count; start += batch) {
    const records: CloudTrailRecord[] = [];
    for (let i = start; i < Math.min(from + count, start + batch); i++) records.push(generator.record(i));
    batches.push({ body: Buffer.from(JSON.stringify({ Records: records })), ids: records.map((r) => r.eventID) });
  }
  return batches;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function createLoggingTrail(server: BenchServer): Promise<string> {
  const client = new CloudTrailClient({
    endpoint: server.url,
    region: BENCH_REGION,
    credentials: { accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET },
  });
  try {
    const created = await client.send(
      new CreateTrailCommand({
        Name: TRAIL,
        S3BucketName: BUCKET,
        IsMultiRegionTrail: true,
        EnableLogFileValidation: true,
      }),
    );
    await client.send(new StartLoggingCommand({ Name: TRAIL }));
    return created.TrailARN!;
  } finally {
    client.destroy();
  }
}

async function measureLatency(
  server: BenchServer,
  batches: readonly Batch[],
  everyMs: number,
): Promise<{ ackedAt: Map<string, number>; seconds: number; events: number }> {
  const signer = benchSigner();
  const ackedAt = new Map<string, number>();
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  for (let k = 0; k < batches.length; k++) {
    const due = started + k * everyMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    // Never more than a second of batches outstanding: a server that falls behind shows as a lower achieved rate.
    while (inFlight.size >= Math.max(1, Math.round(1000 / everyMs))) await Promise.race(inFlight);
    const batch = batches[k]!;
    const sent: Promise<void> = sendIngest(server.url, signer, batch.body).then(() => {
      const at = performance.now();
      for (const id of batch.ids) ackedAt.set(id, at);
      inFlight.delete(sent);
    });
    inFlight.add(sent);
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  return { ackedAt, seconds, events: ackedAt.size };
}

interface ThroughputMeasure {
  readonly ingestSeconds: number;
  readonly deliveredSeconds: number;
  readonly tailMs: number;
  readonly delivered: number;
  /** Per event, acknowledgement → readable, sorted. */
  readonly latencies: number[];
  /** Events readable in the bucket when the last acknowledgement arrived. */
  readonly readableAtLastAck: number;
  readonly steady: SteadyLag;
}

interface SteadyLag {
  readonly ratio: number;
  /** Lag per sample, in seconds, in time order. */
  readonly lags: number[];
}

const LAG_SAMPLE_MS = 250;

/**
 * The lag while ingest runs: at each sample time t, t minus the acknowledgement time of the k-th
 * acknowledged event, k being how many events are readable at t. Deliveries make it a sawtooth, so
 * the trend is read from its bottoms (the first sample after each delivery): their least-squares
 * slope is how many seconds of lag each second adds, and delivery ran at (1 − slope) × ingest's
 * rate. At 1.0 the lag stays level. Samples start at a quarter of the run (the first file's wait
 * is not a trend).
 */
function steadyLagOf(ackTimes: number[], seenTimes: number[], started: number, ended: number): SteadyLag {
  const acked = [...ackTimes].sort((x, y) => x - y);
  const seen = seenTimes.filter((t) => t <= ended).sort((x, y) => x - y);
  const lags: number[] = [];
  const bottoms: Array<[number, number]> = [];
  let readable = 0;
  for (let t = started + (ended - started) / 4; t <= ended; t += LAG_SAMPLE_MS) {
    const before = readable;
    while (readable < seen.length && seen[readable]! <= t) readable++;
    if (readable === 0) continue;
    const lag = (t - acked[readable - 1]!) / 1000;
    lags.push(lag);
    if (readable > before) bottoms.push([t / 1000, lag]);
  }
  return { ratio: bottoms.length < 3 ? 0 : 1 - slopeOf(bottoms), lags };
}

function slopeOf(points: ReadonlyArray<readonly [number, number]>): number {
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / points.length;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / points.length;
  let covariance = 0;
  let variance = 0;
  for (const [x, y] of points) {
    covariance += (x - meanX) * (y - meanY);
    variance += (x - meanX) ** 2;
  }
  return covariance / variance;
}

async function measureThroughput(
  server: BenchServer,
  watcher: BucketWatcher,
  batches: readonly Batch[],
  clients: number,
): Promise<ThroughputMeasure> {
  const signer = benchSigner();
  const ids = batches.flatMap((b) => b.ids);
  const ackedAt = new Map<string, number>();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        await sendIngest(server.url, signer, batch.body);
        const at = performance.now();
        for (const id of batch.ids) ackedAt.set(id, at);
      }
    }),
  );
  const ackedAll = performance.now();
  const delivered = await watcher.waitFor(ids, DELIVERY_WAIT_MS);
  let last = 0;
  let readableAtLastAck = 0;
  for (const id of ids) {
    const seen = watcher.seen.get(id) ?? Infinity;
    if (seen <= ackedAll) readableAtLastAck++;
    if (seen !== Infinity) last = Math.max(last, seen);
  }
  return {
    ingestSeconds: (ackedAll - started) / 1000,
    deliveredSeconds: (last - started) / 1000,
    tailMs: Math.round(last - ackedAll),
    delivered,
    latencies: ids.map((id) => (watcher.seen.get(id) ?? Infinity) - ackedAt.get(id)!).sort((x, y) => x - y),
    readableAtLastAck,
    steady: steadyLagOf([...ackedAt.values()], [...watcher.seen.values()], started, ackedAll),
  };
}

function lagSummary(lags: readonly number[]): { p50: number; max: number; atEnd: number } {
  const sorted = [...lags].sort((x, y) => x - y);
  return {
    p50: round(percentile(sorted, 50), 2),
    max: round(sorted.at(-1) ?? 0, 2),
    atEnd: round(lags.at(-1) ?? 0, 2),
  };
}

/** A controllable clock for the simulated day. */
class SimulatedClock implements Clock {
  constructor(public ms: number) {}
  nowMs(): number {
    return this.ms;
  }
}

/**
 * Writes `files` one-minute log files of `eventsPerFile` events and the hourly digests into
 * `dataDir` with the real delivery code (journal, deliverer, signing keys, embedded store), on a
 * clock that starts at yesterday's UTC midnight. Returns the trail ARN and the validated range.
 */
async function simulateDay(
  dataDir: string,
  journalDir: string,
  files: number,
  eventsPerFile: number,
): Promise<{ trailArn: string; startMs: number; endMs: number; seconds: number }> {
  const startMs = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS;
  const hours = Math.ceil(files / 60);
  const endMs = startMs + hours * HOUR_MS;
  const clock = new SimulatedClock(startMs);
  const journal = await openFileJournal({ directory: journalDir, clock });
  const trails = openSqliteTrailStore(join(dataDir, "control-plane.db"));
  const store = openFilesystemObjectStore(join(dataDir, "buckets"));
  await store.ensureBucket(BUCKET);
  const trailArn = trailArnOf(BENCH_REGION, BENCH_ACCOUNT, TRAIL);
  const trail: TrailConfig = {
    accountId: BENCH_ACCOUNT,
    name: TRAIL,
    homeRegion: BENCH_REGION,
    trailArn,
    s3BucketName: BUCKET,
    includeGlobalServiceEvents: true,
    isMultiRegionTrail: false,
    isOrganizationTrail: false,
    logFileValidationEnabled: true,
    eventSelectors: [DEFAULT_BASIC_SELECTOR],
    hasCustomEventSelectors: false,
    tags: [],
    isLogging: true,
    startLoggingTimeMs: startMs,
    createdAtMs: startMs,
    deliverFromSeq: 1,
  };
  await trails.put(trail);
  const deliverer = new TrailDeliverer({
    trail,
    journal,
    trails,
    objectStore: store,
    keys: openFileSigningKeyStore({ dataDir, clock, masterKey: masterKeyOf(randomBytes(32)) }),
    matcher: compileEventSelectors(trail),
    deliveryStates: openFileDeliveryStateStore(dataDir),
    clock,
    deliveryIntervalSeconds: 60,
    digestIntervalSeconds: 3600,
  });
  const started = performance.now();
  try {
    await deliverer.loadCursor();
    await deliverer.recover();
    await deliverer.tick(); // opens the digest chain at midnight
    const generator = recordGenerator(loadSamples(), files * eventsPerFile, startMs, endMs);
    for (let minute = 0; minute < files; minute++) {
      const records = Array.from({ length: eventsPerFile }, (_, j) => {
        const record = generator.record(minute * eventsPerFile + j);
        // One file per minute: every event in the home region, inside its minute.
        return { ...record, awsRegion: BENCH_REGION, eventTime: toEventTime(clock.ms + j) };
      });
      await journal.append(records.map((record) => ({ json: JSON.stringify(record) })));
      await deliverer.handle(await journal.read(deliverer.examinedSeq() + 1, eventsPerFile + 1000));
      clock.ms += MINUTE_MS;
      await deliverer.tick();
    }
    clock.ms = endMs;
    await deliverer.tick();
    // The day is over: the server started later on this data dir must not deliver for the trail.
    await trails.put({ ...trail, isLogging: false, stopLoggingTimeMs: endMs });
  } finally {
    trails.close();
    await journal.close();
  }
  return { trailArn, startMs, endMs, seconds: (performance.now() - started) / 1000 };
}

async function bytesUnder(directory: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(directory, { recursive: true })) {
    const info = await stat(join(directory, name));
    if (info.isFile()) total += info.size;
  }
  return total;
}

async function timed(
  tool: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  files: number,
): Promise<ValidateTiming> {
  const started = performance.now();
  let code = 0;
  let stdout = "";
  let stderr = "";
  try {
    ({ stdout, stderr } = await promisify(execFile)(command, args, {
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? tmpdir(), ...env },
      maxBuffer: 256 * 1024 * 1024,
    }));
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    code = typeof failure.code === "number" ? failure.code : 1;
    stdout = failure.stdout ?? "";
    stderr = failure.stderr ?? "";
  }
  const seconds = (performance.now() - started) / 1000;
  const summary = stdout
    .split("\n")
    .filter((line) => / files valid/.test(line))
    .join("; ");
  if (code !== 0) process.stderr.write(`${tool} exited ${code}:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}\n`);
  return { tool, seconds: round(seconds, 2), filesPerSec: Math.round(files / seconds), exitCode: code, summary };
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

function awsCliInstalled(): boolean {
  const probe = spawnSync("aws", ["--version"], { encoding: "utf8" });
  return !probe.error && probe.status === 0;
}

async function benchDay(
  files: number,
  eventsPerFile: number,
  withAwsCli: boolean,
): Promise<NonNullable<TrailDeliveryBench["day"]>> {
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-bench-day-"));
  const journalDir = mkdtempSync(join(tmpdir(), "cairn-bench-day-journal-"));
  try {
    const day = await simulateDay(dataDir, journalDir, files, eventsPerFile);
    rmSync(journalDir, { recursive: true, force: true });
    const digests = Math.ceil(files / 60);
    const objects = files + digests;
    const range = ["--start-time", toEventTime(day.startMs), "--end-time", toEventTime(day.endMs)];
    const validate: ValidateTiming[] = [];
    validate.push(
      await timed(
        "cairn validate-logs --bucket-dir (offline)",
        process.execPath,
        [
          CLI,
          "validate-logs",
          "--trail-arn",
          day.trailArn,
          ...range,
          "--s3-bucket",
          BUCKET,
          "--bucket-dir",
          join(dataDir, "buckets"),
          "--data-dir",
          dataDir,
        ],
        {},
        objects,
      ),
    );
    const server = await startBenchServer(dataDir);
    try {
      validate.push(
        await timed(
          "cairn validate-logs (server S3 endpoint)",
          process.execPath,
          [
            CLI,
            "validate-logs",
            "--trail-arn",
            day.trailArn,
            ...range,
            "--endpoint-url",
            server.url,
            "--region",
            BENCH_REGION,
            "--s3-endpoint-url",
            server.s3Url!,
          ],
          { AWS_ACCESS_KEY_ID: BENCH_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: BENCH_SECRET },
          objects,
        ),
      );
      if (withAwsCli) {
        validate.push(
          await timed(
            "aws cloudtrail validate-logs (server S3 endpoint)",
            "aws",
            [
              "cloudtrail",
              "validate-logs",
              "--trail-arn",
              day.trailArn,
              ...range,
              "--endpoint-url",
              server.url,
              "--region",
              BENCH_REGION,
            ],
            {
              AWS_SHARED_CREDENTIALS_FILE: join(dataDir, "credentials"),
              AWS_CONFIG_FILE: join(dataDir, "config"),
              AWS_ENDPOINT_URL_S3: server.s3Url!,
            },
            objects,
          ),
        );
      }
    } finally {
      await server.stop();
    }
    const factor = 1440 / files;
    return {
      logFiles: files,
      digests,
      eventsPerFile,
      extrapolationFactor: round(factor, 3),
      generateSeconds: round(day.seconds, 1),
      bucketBytes: await bytesUnder(join(dataDir, "buckets", BUCKET)),
      validate,
      daySecondsByTool: Object.fromEntries(validate.map((v) => [v.tool, round(v.seconds * factor, 1)])),
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(journalDir, { recursive: true, force: true });
  }
}

/** CAIRN_BENCH_INGEST_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the servers (as http-ingest.ts). */
function serverNodeArgs(): string[] {
  return (process.env["CAIRN_BENCH_INGEST_NODE_ARGS"] ?? "").split(" ").filter((arg) => arg !== "");
}

/**
 * A server with a fresh data dir (deleted after), a logging multi-Region trail with validation, and
 * a watcher on its bucket directory (counting only the log files of this run).
 */
async function withTrailServer<T>(work: (server: BenchServer, watcher: BucketWatcher) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-bench-trail-"));
  try {
    const server = await startBenchServer(
      dataDir,
      { CAIRN_DELIVERY_INTERVAL_SECONDS: String(DELIVERY_INTERVAL_SECONDS) },
      serverNodeArgs(),
    );
    const watcher = new BucketWatcher(join(dataDir, "buckets", BUCKET, "AWSLogs", BENCH_ACCOUNT, "CloudTrail"));
    try {
      await createLoggingTrail(server);
      watcher.start();
      return await work(server, watcher);
    } finally {
      await watcher.stop();
      await server.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchTrailDelivery(options: TrailDeliveryOptions = {}): Promise<TrailDeliveryBench> {
  const latencySeconds = options.latencySeconds ?? 30;
  const rates = options.latencyRates ?? [10_000, 5_000];
  const latencyBatch = options.latencyBatch ?? 500;
  const throughputEvents = options.throughputEvents ?? 200_000;
  const clients = options.throughputClients ?? 4;
  const throughputBatch = options.throughputBatch ?? 1000;
  const dayFiles = options.dayFiles ?? 1440;
  const dayEventsPerFile = options.dayEventsPerFile ?? 200;
  const withAwsCli = options.awsCli ?? awsCliInstalled();

  const nowMs = Date.now();
  // One generator for the whole run, so every phase's eventIDs are distinct (record i has id prefix i).
  const total = rates.reduce((sum, rate) => sum + Math.round(latencySeconds * rate), 0) + throughputEvents;
  const generator = recordGenerator(loadSamples(), total, nowMs - 3_600_000, nowMs - 1_000);
  let nextRecord = 0;
  const take = (count: number, batch: number): Batch[] => {
    const batches = makeBatches(generator, nextRecord, count, batch);
    nextRecord += count;
    return batches;
  };

  const latency: LatencyRun[] = [];
  // A fresh server per run: a saturated run leaves consumers behind (Event history catching up) that
  // would otherwise be charged to the next one.
  for (const rate of rates) {
    const batches = take(Math.round(latencySeconds * rate), latencyBatch);
    latency.push(
      await withTrailServer(async (server, watcher) => {
        const run = await measureLatency(server, batches, (latencyBatch / rate) * 1000);
        const ids = batches.flatMap((b) => b.ids);
        const delivered = await watcher.waitFor(ids, DELIVERY_WAIT_MS);
        if (delivered < ids.length) throw new Error(`Only ${delivered}/${ids.length} events were delivered.`);
        const latencies = ids.map((id) => watcher.seen.get(id)! - run.ackedAt.get(id)!).sort((x, y) => x - y);
        return {
          targetEventsPerSec: rate,
          achievedEventsPerSec: Math.round(run.events / run.seconds),
          seconds: round(run.seconds, 1),
          batchRecords: latencyBatch,
          events: run.events,
          delivered,
          p50Ms: Math.round(percentile(latencies, 50)),
          p99Ms: Math.round(percentile(latencies, 99)),
          maxMs: Math.round(latencies.at(-1)!),
          logFiles: watcher.fileCount,
          awsAverageMs: AWS_AVERAGE_DELIVERY_MS,
        };
      }),
    );
  }

  const throughputBatches = take(throughputEvents, throughputBatch);
  const throughput = await withTrailServer(async (server, watcher) => {
    const measured = await measureThroughput(server, watcher, throughputBatches, clients);
    if (measured.delivered < throughputEvents) {
      throw new Error(`Only ${measured.delivered}/${throughputEvents} events were delivered within the wait.`);
    }
    const ingestRate = throughputEvents / measured.ingestSeconds;
    const deliveredRate = throughputEvents / measured.deliveredSeconds;
    return {
      events: throughputEvents,
      clients,
      batchRecords: throughputBatch,
      ingestEventsPerSec: Math.round(ingestRate),
      deliveredEventsPerSec: Math.round(deliveredRate),
      ratioToIngest: round(deliveredRate / ingestRate, 3),
      tailMs: measured.tailMs,
      p50Ms: Math.round(percentile(measured.latencies, 50)),
      p99Ms: Math.round(percentile(measured.latencies, 99)),
      maxMs: Math.round(measured.latencies.at(-1)!),
      readableAtLastAck: round(measured.readableAtLastAck / throughputEvents, 3),
      steadyRatio: round(measured.steady.ratio, 3),
      lagSeconds: lagSummary(measured.steady.lags),
      logFiles: watcher.fileCount,
      serverRssBytes: rssOf(server.pid),
    };
  });

  // `--day-files=0` leaves the day out (profiling or comparing delivery alone).
  const day = dayFiles > 0 ? await benchDay(dayFiles, dayEventsPerFile, withAwsCli) : undefined;
  return {
    name: "trail-delivery",
    deliveryIntervalSeconds: DELIVERY_INTERVAL_SECONDS,
    latency,
    throughput,
    ...(day !== undefined ? { day } : {}),
  };
}

/** `--name=value` flags; `--rates=10000,5000`; `--no-aws-cli` turns the AWS CLI run off. */
export function trailDeliveryOptionsFromArgs(args: readonly string[]): TrailDeliveryOptions {
  const flags = new Map(args.map((arg) => arg.replace(/^--/, "").split("=") as [string, string | undefined]));
  const number = (name: string): number | undefined => (flags.has(name) ? Number(flags.get(name)) : undefined);
  const rates = flags.get("rates");
  return {
    latencySeconds: number("latency-seconds"),
    ...(rates !== undefined
      ? {
          latencyRates: rates
            .split(",")
            .filter((rate) => rate !== "")
            .map(Number),
        }
      : {}),
    latencyBatch: number("batch"),
    throughputEvents: number("throughput-events"),
    throughputClients: number("clients"),
    throughputBatch: number("throughput-batch"),
    dayFiles: number("day-files"),
    dayEventsPerFile: number("day-events-per-file"),
    ...(flags.has("no-aws-cli") ? { awsCli: false } : {}),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const results = await benchTrailDelivery(trailDeliveryOptionsFromArgs(process.argv.slice(2)));
  console.error(`written: ${writeBenchResults("trail-delivery", results)}`);
  console.log(JSON.stringify(results, null, 2));
}
