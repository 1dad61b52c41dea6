import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { CloudTrailClient, CreateTrailCommand, PutInsightSelectorsCommand } from "@aws-sdk/client-cloudtrail";
import type { CloudTrailRecord } from "../src/model/record.js";
import { samplesMissingReason } from "../test/helpers/sample-records.js";
import { loadSamples, recordGenerator } from "./event-history-records.js";
import { cpuSecondsOf } from "./http-ingest.js";
import { benchInsightsLatency, untilCaughtUp, type InsightsLatencyBench } from "./insights-latency.js";
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
 * Insights (issue #14, decision 0019):
 * 1. latency (bench/insights-latency.ts): a spike of writes and a burst of AccessDenied errors in one
 *    minute each → their Start (and End) record in LookupEvents, with the default settings, beside
 *    AWS's documented "typically within 30 minutes" (documentation, not measured);
 * 2. cost: durable HTTP ingest (4 clients, 1,000-record batches, as bench/detection.ts) into a real
 *    `cairn server` whose trail has no Insight selectors and one with ApiCallRateInsight and
 *    ApiErrorRateInsight, alternated rounds on fresh servers; the insights store's bytes per event.
 *    The series are counted whether or not a trail selects Insights (decision 0019, point 6), so the
 *    rounds without selectors already pay for counting: the ratio is what selecting Insights adds.
 * Usage: node dist/bench/insights.js [runs=4] [end=1] [events=100000] [rounds=2] (runs 0: the cost alone)
 * (`npm run bench` runs 1 run without waiting for the End: `--insights-runs`, `--insights-end`.)
 */
export interface InsightsBenchOptions {
  readonly runs?: number;
  readonly waitForEnd?: boolean;
  readonly events?: number;
  readonly rounds?: number;
}

export interface InsightsCostRound {
  readonly insightSelectors: boolean;
  readonly eventsPerSec: number;
  readonly serverCpuMicrosPerEvent: number;
  /** Until every consumer (Insights among them) caught up: the whole cost of an event. */
  readonly serverCpuMicrosPerEventUntilDone: number;
  readonly consumersCaughtUpAfterMs: number;
  /** insights.db and its WAL after the round, per event ingested. */
  readonly insightsStoreBytesPerEvent: number;
}

interface CostFigures {
  readonly eventsPerSec: number;
  readonly serverCpuMicrosPerEvent: number;
  readonly serverCpuMicrosPerEventUntilDone: number;
  readonly insightsStoreBytesPerEvent: number;
}

export interface InsightsBench {
  readonly name: "insights";
  readonly events: number;
  /** Share of the records counted: write management events, and management events with an error code. */
  readonly countedFraction: number;
  /** Absent with `runs: 0` (the cost alone). */
  readonly latency?: InsightsLatencyBench;
  readonly awsDocumented: string;
  readonly rounds: readonly InsightsCostRound[];
  readonly withoutSelectors: CostFigures;
  readonly withSelectors: CostFigures;
  /** with ÷ without. */
  readonly ratios: Omit<CostFigures, "insightsStoreBytesPerEvent">;
}

const CLIENTS = 4;
const BATCH = 1000;
export const AWS_DOCUMENTED = "typically within 30 minutes (AWS documentation, not measured)";

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function buildBodies(events: number): { bodies: Buffer[]; counted: number } {
  const nowMs = Date.now();
  const generator = recordGenerator(loadSamples(), events, nowMs - 3_600_000, nowMs - 1_000);
  const bodies: Buffer[] = [];
  let counted = 0;
  for (let start = 0; start < events; start += BATCH) {
    const records: CloudTrailRecord[] = [];
    for (let i = start; i < Math.min(events, start + BATCH); i++) {
      const record = generator.record(i);
      if (record.managementEvent !== false && (record.readOnly === false || record.errorCode !== undefined)) counted++;
      records.push(record);
    }
    bodies.push(Buffer.from(JSON.stringify({ Records: records })));
  }
  return { bodies, counted };
}

async function createTrail(server: BenchServer, insightSelectors: boolean): Promise<void> {
  const client = new CloudTrailClient({
    endpoint: server.url,
    region: BENCH_REGION,
    credentials: { accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET },
  });
  try {
    await client.send(
      new CreateTrailCommand({ Name: "audit", S3BucketName: "insights-bench", IsMultiRegionTrail: true }),
    );
    if (insightSelectors)
      await client.send(
        new PutInsightSelectorsCommand({
          TrailName: "audit",
          InsightSelectors: [{ InsightType: "ApiCallRateInsight" }, { InsightType: "ApiErrorRateInsight" }],
        }),
      );
  } finally {
    client.destroy();
  }
}

function bytesOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function costRound(
  bodies: readonly Buffer[],
  events: number,
  insightSelectors: boolean,
): Promise<InsightsCostRound> {
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-bench-insights-cost-"));
  const server = await startBenchServer(dataDir);
  try {
    // The trail is not logging: only Insights differs between the rounds, not log file delivery.
    await createTrail(server, insightSelectors);
    await untilCaughtUp(server.url);
    const signer = benchSigner();
    let next = 0;
    const cpuBefore = cpuSecondsOf(server.pid);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < bodies.length) await sendIngest(server.url, signer, bodies[next++]!);
      }),
    );
    const ingestEnded = performance.now();
    const cpuIngest = cpuSecondsOf(server.pid) - cpuBefore;
    await untilCaughtUp(server.url, 300_000);
    const caughtUp = performance.now();
    const cpuAll = cpuSecondsOf(server.pid) - cpuBefore;
    const store = join(dataDir, "insights.db");
    return {
      insightSelectors,
      eventsPerSec: Math.round(events / ((ingestEnded - started) / 1000)),
      serverCpuMicrosPerEvent: Math.round((cpuIngest * 1e6) / events),
      serverCpuMicrosPerEventUntilDone: Math.round((cpuAll * 1e6) / events),
      consumersCaughtUpAfterMs: Math.round(caughtUp - ingestEnded),
      insightsStoreBytesPerEvent: Math.round(((bytesOf(store) + bytesOf(`${store}-wal`)) / events) * 10) / 10,
    };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function figuresOf(rounds: readonly InsightsCostRound[]): CostFigures {
  return {
    eventsPerSec: median(rounds.map((r) => r.eventsPerSec)),
    serverCpuMicrosPerEvent: median(rounds.map((r) => r.serverCpuMicrosPerEvent)),
    serverCpuMicrosPerEventUntilDone: median(rounds.map((r) => r.serverCpuMicrosPerEventUntilDone)),
    insightsStoreBytesPerEvent: median(rounds.map((r) => r.insightsStoreBytesPerEvent)),
  };
}

export async function benchInsights(
  options: InsightsBenchOptions = {},
): Promise<InsightsBench | { name: "insights"; skipped: string }> {
  const skipped = samplesMissingReason();
  if (skipped !== false) return { name: "insights", skipped };
  const events = options.events ?? 100_000;
  const { bodies, counted } = buildBodies(events);
  const rounds: InsightsCostRound[] = [];
  // A/B then B/A: whichever runs second in a pair runs on a machine the first one just loaded.
  for (let round = 0; round < (options.rounds ?? 2); round++)
    for (const insightSelectors of round % 2 === 0 ? [false, true] : [true, false]) {
      rounds.push(await costRound(bodies, events, insightSelectors));
      console.error(`insights: cost round ${round + 1}: ${JSON.stringify(rounds.at(-1))}`);
    }
  const runs = options.runs ?? 4;
  const latency = runs === 0 ? undefined : await benchInsightsLatency(runs, options.waitForEnd ?? true);
  const without = figuresOf(rounds.filter((r) => !r.insightSelectors));
  const withSelectors = figuresOf(rounds.filter((r) => r.insightSelectors));
  const ratio = (a: number, b: number): number => Number((b / a).toFixed(3));
  return {
    name: "insights",
    events,
    countedFraction: Number((counted / events).toFixed(4)),
    ...(latency !== undefined ? { latency } : {}),
    awsDocumented: AWS_DOCUMENTED,
    rounds,
    withoutSelectors: without,
    withSelectors,
    ratios: {
      eventsPerSec: ratio(without.eventsPerSec, withSelectors.eventsPerSec),
      serverCpuMicrosPerEvent: ratio(without.serverCpuMicrosPerEvent, withSelectors.serverCpuMicrosPerEvent),
      serverCpuMicrosPerEventUntilDone: ratio(
        without.serverCpuMicrosPerEventUntilDone,
        withSelectors.serverCpuMicrosPerEventUntilDone,
      ),
    },
  };
}

const seconds = (s: { p50: number; max: number; n: number }): string => `${s.p50} / ${s.max} (n=${s.n})`;

function printLatency(l: InsightsLatencyBench, awsDocumented: string): void {
  console.log(
    `\nInsights latency: spike's first acknowledged event → Insights record, default settings (7-day baseline, ` +
      `30 s detection delay, 5 quiet minutes), ${l.runs} runs, spikes 1 s past their minute`,
  );
  console.table(
    l.series.map((s) => ({
      run: s.run,
      type: s.insightType,
      api: s.eventName,
      "first ack (s into minute)": s.firstAckSecondOfMinute,
      "Start in journal (s)": s.startInJournalMs / 1000,
      "Start in LookupEvents (s)": s.startInLookupMs / 1000,
      "End in LookupEvents (s)": s.endInLookupMs / 1000,
    })),
  );
  console.table([
    {
      figure: "Start in LookupEvents, p50 / max (s)",
      cairn: seconds(l.startInLookupSeconds),
      AWS: awsDocumented,
    },
    { figure: "End in LookupEvents, p50 / max (s)", cairn: seconds(l.endInLookupSeconds), AWS: "-" },
  ]);
}

export function printInsightsBench(bench: InsightsBench | { name: "insights"; skipped: string }): void {
  if (!("rounds" in bench)) {
    console.log(`\nInsights: ${bench.skipped}`);
    return;
  }
  if (bench.latency !== undefined) printLatency(bench.latency, bench.awsDocumented);
  const { withoutSelectors: a, withSelectors: b, ratios } = bench;
  console.log(
    `\nInsights cost: durable ingest of ${bench.events.toLocaleString("en")} events ` +
      `(${(bench.countedFraction * 100).toFixed(1)}% counted), trail without vs with Insight selectors, ` +
      `medians of ${bench.rounds.length / 2} alternated rounds`,
  );
  console.table([
    {
      figure: "events/s (4 clients, 1,000-record batches)",
      without: a.eventsPerSec,
      with: b.eventsPerSec,
      ratio: ratios.eventsPerSec,
    },
    {
      figure: "server CPU µs/event, during ingest",
      without: a.serverCpuMicrosPerEvent,
      with: b.serverCpuMicrosPerEvent,
      ratio: ratios.serverCpuMicrosPerEvent,
    },
    {
      figure: "server CPU µs/event, until consumers done",
      without: a.serverCpuMicrosPerEventUntilDone,
      with: b.serverCpuMicrosPerEventUntilDone,
      ratio: ratios.serverCpuMicrosPerEventUntilDone,
    },
    {
      figure: "insights.db bytes/event",
      without: a.insightsStoreBytesPerEvent,
      with: b.insightsStoreBytesPerEvent,
      ratio: "-",
    },
  ]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [runs, end, events, rounds] = process.argv.slice(2).map(Number);
  const bench = await benchInsights({
    ...(runs !== undefined && !Number.isNaN(runs) ? { runs } : {}),
    ...(end !== undefined && !Number.isNaN(end) ? { waitForEnd: end !== 0 } : {}),
    ...(events ? { events } : {}),
    ...(rounds !== undefined && !Number.isNaN(rounds) ? { rounds } : {}),
  });
  printInsightsBench(bench);
  const file = writeBenchResults("insights", bench);
  console.log(JSON.stringify(bench, null, 2));
  console.log(`written: ${file}`);
}
