import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import type { CloudTrailRecord } from "../src/model/record.js";
import { samplesMissingReason } from "../test/helpers/sample-records.js";
import { ACTIVE_RULES_DIR, sigmaRulesMissingReason } from "../test/helpers/sigma-rules.js";
import { BENCH_RULES, ruleMatcher } from "./detection-rules.js";
import { createBenchRules, startDeliveryReceiver, type DeliveryReceiver } from "./detection-setup.js";
import { eventBridgeInProcess, sigmaInProcess, type InProcessEvaluation } from "./detection-sigma.js";
import { loadSamples, recordGenerator } from "./event-history-records.js";
import { cpuSecondsOf } from "./http-ingest.js";
import { benchSigner, sendIngest, startBenchServer, type BenchServer } from "./server-process.js";
import { writeBenchResults } from "./results-file.js";

/**
 * Detection's cost and latency (issue #14, "Performance"):
 * 1. durable HTTP ingest (4 clients, 1,000-record batches, as bench/http-ingest.ts) into a real
 *    `cairn server` with no rule, and with the 100 EventBridge rules of bench/detection-rules.ts
 *    (about 5% of the records match; each rule has one API-destination target on a local receiver
 *    answering 200) and SigmaHQ's CloudTrail rules live (CAIRN_SIGMA_RULES_DIR; left out, loudly,
 *    when the shared data lacks them), in alternated rounds A/B/A/B on fresh servers; goal: ingest
 *    drops by ≤ 15%;
 * 2. record → webhook latency at a steady rate, each record matching one rule, with the same rules
 *    (goal p99 ≤ 1 s);
 * 3. the same work in process: SigmaHQ's rules through SigmaEngine.offer and the EventBridge
 *    matcher, per record, against the server's CPU per event.
 * Usage: node dist/bench/detection.js [events=100000] [rounds=2] [latency-rate=200] [latency-seconds=20]
 * DETECTION_BENCH_SERVER_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) profiles the servers.
 */
export interface DetectionOptions {
  readonly events?: number;
  readonly rounds?: number;
  readonly latencyRate?: number;
  readonly latencySeconds?: number;
}

export interface CostRound {
  /** EventBridge rules (0 or 100); the Sigma rules come with them. */
  readonly rules: number;
  /** Server-wide Sigma rules the server loaded (its `/health`), and the matches it stored. */
  readonly sigmaRules: number;
  readonly sigmaMatches: number;
  readonly eventsPerSec: number;
  /** Server CPU (all threads) per event from the first ingest call to the last answer, as http-ingest. */
  readonly serverCpuMicrosPerEvent: number;
  /** The same until every consumer caught up and every delivery arrived: the whole cost of an event. */
  readonly serverCpuMicrosPerEventUntilDone: number;
  /** How long after the last ingest answer the consumers had caught up. */
  readonly consumersCaughtUpAfterMs: number;
  readonly deliveriesExpected: number;
  readonly deliveriesReceived: number;
  /** How long after the last ingest answer the last expected delivery arrived (-1: none expected). */
  readonly lastDeliveryAfterIngestMs: number;
}

interface CostFigures {
  readonly eventsPerSec: number;
  readonly serverCpuMicrosPerEvent: number;
  readonly serverCpuMicrosPerEventUntilDone: number;
}

export interface DetectionBench {
  readonly name: "detection";
  readonly skipped?: string;
  readonly events: number;
  readonly rules: number;
  /** The Sigma rules directory the rounds with rules loaded; absent when skipped (`sigmaLiveSkipped`). */
  readonly sigmaRulesDir?: string;
  readonly sigmaLiveSkipped?: string;
  /** Share of the ingested records that match at least one rule, and deliveries per record. */
  readonly matchingFraction: number;
  readonly deliveriesPerEvent: number;
  readonly rounds: readonly CostRound[];
  /** Medians of the rounds without and with rules, and with ÷ without. */
  readonly withoutRules: CostFigures;
  readonly withRules: CostFigures;
  readonly ratios: CostFigures;
  readonly latency: LatencyFigures;
  readonly inProcess: {
    readonly eventBridge: InProcessEvaluation;
    readonly sigma: readonly InProcessEvaluation[];
    readonly sigmaSkipped?: string;
    /** Sigma's µs per record (active rules, record parsed) ÷ the server's CPU µs per ingested event without rules. */
    readonly sigmaShareOfServerCpu: number;
  };
}

export interface LatencyFigures {
  readonly targetEventsPerSec: number;
  readonly achievedEventsPerSec: number;
  readonly events: number;
  /** Ingest calls that failed (not counted in `events`). */
  readonly failedIngestCalls: number;
  readonly delivered: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const CLIENTS = 4;
const BATCH = 1000;
/** Waiting for consumers or deliveries gives up after this long without progress. */
const STALL_MS = 30_000;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

const round1 = (value: number): number => Math.round(value * 10) / 10;

/** DETECTION_BENCH_SERVER_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, profiles the servers. */
function serverNodeArgs(): string[] {
  return (process.env["DETECTION_BENCH_SERVER_NODE_ARGS"] ?? "").split(" ").filter((arg) => arg !== "");
}

/** SigmaHQ's CloudTrail rules for the server to run live, or why they are left out. */
function sigmaLive(): { env: Record<string, string>; dir?: string; skipped?: string } {
  const skipped = sigmaRulesMissingReason();
  if (skipped !== false) return { env: {}, skipped };
  return { env: { CAIRN_SIGMA_RULES_DIR: ACTIVE_RULES_DIR }, dir: ACTIVE_RULES_DIR };
}

/** The Sigma module's facts in `/health`: rules loaded, matches stored. */
async function sigmaHealth(url: string): Promise<{ rules: number; matches: number }> {
  const health = (await (await fetch(`${url}/health`)).json()) as {
    sigma?: { serverWide?: number; storedMatches?: number };
  };
  const sigma = health.sigma;
  return { rules: sigma?.serverWide ?? 0, matches: sigma?.storedMatches ?? 0 };
}

/** Whether every consumer of the server (/health) has reached the journal's head. */
async function consumersCaughtUp(url: string): Promise<boolean> {
  const health = (await (await fetch(`${url}/health`)).json()) as {
    journal: { headSeq: number };
    consumers: Record<string, { cursor: number }>;
  };
  return Object.values(health.consumers).every((consumer) => consumer.cursor >= health.journal.headSeq);
}

/** Polls until `done` holds or `progress` stood still for STALL_MS; resolves to whether `done` held. */
async function waitFor(done: () => Promise<boolean> | boolean, progress: () => number = () => 0): Promise<boolean> {
  let last = progress();
  let movedAt = performance.now();
  while (!(await done())) {
    if (progress() !== last) [last, movedAt] = [progress(), performance.now()];
    if (performance.now() - movedAt > STALL_MS) return false;
    await sleep(50);
  }
  return true;
}

interface Workload {
  readonly events: number;
  readonly bodies: Buffer[];
  /** `eventID\nrule` of every delivery the rules should make. */
  readonly expected: Set<string>;
  readonly matchingRecords: number;
  /** A sample of the records as JSON, for the in-process figures. */
  readonly sampleJsons: string[];
}

function buildWorkload(events: number): Workload {
  const nowMs = Date.now();
  const generator = recordGenerator(loadSamples(), events, nowMs - 3_600_000, nowMs - 1_000);
  const match = ruleMatcher();
  const expected = new Set<string>();
  const bodies: Buffer[] = [];
  const sampleJsons: string[] = [];
  let matchingRecords = 0;
  for (let start = 0; start < events; start += BATCH) {
    const records: CloudTrailRecord[] = [];
    for (let i = start; i < Math.min(events, start + BATCH); i++) {
      const record = generator.record(i);
      const rules = match(record);
      if (rules.length > 0) matchingRecords++;
      for (const rule of rules) expected.add(`${record.eventID}\n${rule}`);
      if (sampleJsons.length < 50_000) sampleJsons.push(JSON.stringify(record));
      records.push(record);
    }
    bodies.push(Buffer.from(JSON.stringify({ Records: records })));
  }
  return { events, bodies, expected, matchingRecords, sampleJsons };
}

async function withServer<T>(env: Record<string, string>, work: (server: BenchServer) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-bench-detection-"));
  const server = await startBenchServer(dataDir, env, serverNodeArgs());
  try {
    return await work(server);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function lastArrival(receiver: DeliveryReceiver, expected: ReadonlySet<string>): number {
  let last = -Infinity;
  for (const key of expected) last = Math.max(last, receiver.arrivals.get(key) ?? -Infinity);
  return last;
}

function countArrived(receiver: DeliveryReceiver, expected: ReadonlySet<string>): number {
  let arrived = 0;
  for (const key of expected) if (receiver.arrivals.has(key)) arrived++;
  return arrived;
}

async function costRound(workload: Workload, withRules: boolean, receiver: DeliveryReceiver): Promise<CostRound> {
  return withServer(withRules ? sigmaLive().env : {}, async (server) => {
    if (withRules) await createBenchRules(server.url, receiver.url, BENCH_RULES);
    await waitFor(() => consumersCaughtUp(server.url));
    receiver.reset();
    const expected = withRules ? workload.expected : new Set<string>();
    const signer = benchSigner();
    const { bodies } = workload;
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
    await waitFor(() => consumersCaughtUp(server.url));
    const caughtUp = performance.now();
    await waitFor(
      () => countArrived(receiver, expected) === expected.size,
      () => receiver.arrivals.size,
    );
    const cpuAll = cpuSecondsOf(server.pid) - cpuBefore;
    const { events } = workload;
    const last = lastArrival(receiver, expected);
    const sigma = await sigmaHealth(server.url);
    return {
      rules: withRules ? BENCH_RULES.length : 0,
      sigmaRules: sigma.rules,
      sigmaMatches: sigma.matches,
      eventsPerSec: Math.round(events / ((ingestEnded - started) / 1000)),
      serverCpuMicrosPerEvent: Math.round((cpuIngest * 1e6) / events),
      serverCpuMicrosPerEventUntilDone: Math.round((cpuAll * 1e6) / events),
      consumersCaughtUpAfterMs: Math.round(caughtUp - ingestEnded),
      deliveriesExpected: expected.size,
      deliveriesReceived: countArrived(receiver, expected),
      lastDeliveryAfterIngestMs: Number.isFinite(last) ? Math.round(last - ingestEnded) : -1,
    };
  });
}

/** Records that each match exactly one rule, with that rule's name, fresh (eventTime in the last minute). */
function latencyRecords(count: number): { record: CloudTrailRecord; rule: string }[] {
  const nowMs = Date.now();
  const pool = count * 50;
  const generator = recordGenerator(loadSamples(), pool, nowMs - 60_000, nowMs - 1_000);
  const match = ruleMatcher();
  const picked: { record: CloudTrailRecord; rule: string }[] = [];
  for (let i = 0; i < pool && picked.length < count; i++) {
    const record = generator.record(i);
    const rules = match(record);
    if (rules.length === 1) picked.push({ record, rule: rules[0]! });
  }
  return picked;
}

/**
 * One record per ingest call at `rate` calls per second: latency is when the receiver got the
 * delivery less when the ingest call was answered (the record durable), both on this process's clock.
 */
async function latencyPhase(rate: number, seconds: number, receiver: DeliveryReceiver): Promise<LatencyFigures> {
  const picked = latencyRecords(rate * seconds);
  return withServer(sigmaLive().env, async (server) => {
    await createBenchRules(server.url, receiver.url, BENCH_RULES);
    await waitFor(() => consumersCaughtUp(server.url));
    receiver.reset();
    const signer = benchSigner();
    const answered = new Map<string, number>();
    const failures: string[] = [];
    const inFlight = new Set<Promise<void>>();
    const started = performance.now();
    for (const [index, { record }] of picked.entries()) {
      const waitMs = started + (index * 1000) / rate - performance.now();
      if (waitMs > 0) await sleep(waitMs);
      const call: Promise<void> = sendIngest(server.url, signer, Buffer.from(JSON.stringify({ Records: [record] })))
        .then(
          () => void answered.set(record.eventID, performance.now()),
          // A call that failed (a shared machine's stall) counts as not sent; the run goes on.
          (error: unknown) => void failures.push(String(error)),
        )
        .finally(() => inFlight.delete(call));
      inFlight.add(call);
    }
    await Promise.all(inFlight);
    const sendSeconds = (performance.now() - started) / 1000;
    const sent = picked.filter(({ record }) => answered.has(record.eventID));
    const expected = new Set(sent.map(({ record, rule }) => `${record.eventID}\n${rule}`));
    await waitFor(
      () => countArrived(receiver, expected) === expected.size,
      () => receiver.arrivals.size,
    );
    const latencies = sent
      .map(
        ({ record, rule }) =>
          (receiver.arrivals.get(`${record.eventID}\n${rule}`) ?? NaN) - answered.get(record.eventID)!,
      )
      .filter((ms) => !Number.isNaN(ms))
      .sort((a, b) => a - b);
    return {
      targetEventsPerSec: rate,
      achievedEventsPerSec: Math.round(picked.length / sendSeconds),
      events: sent.length,
      failedIngestCalls: failures.length,
      delivered: latencies.length,
      p50Ms: round1(percentile(latencies, 0.5)),
      p95Ms: round1(percentile(latencies, 0.95)),
      p99Ms: round1(percentile(latencies, 0.99)),
      maxMs: round1(latencies[latencies.length - 1] ?? NaN),
    };
  });
}

function figuresOf(rounds: readonly CostRound[]): CostFigures {
  return {
    eventsPerSec: median(rounds.map((r) => r.eventsPerSec)),
    serverCpuMicrosPerEvent: median(rounds.map((r) => r.serverCpuMicrosPerEvent)),
    serverCpuMicrosPerEventUntilDone: median(rounds.map((r) => r.serverCpuMicrosPerEventUntilDone)),
  };
}

function ratiosOf(a: CostFigures, b: CostFigures): CostFigures {
  const ratio = (x: number, y: number): number => Number((x / y).toFixed(3));
  return {
    eventsPerSec: ratio(b.eventsPerSec, a.eventsPerSec),
    serverCpuMicrosPerEvent: ratio(b.serverCpuMicrosPerEvent, a.serverCpuMicrosPerEvent),
    serverCpuMicrosPerEventUntilDone: ratio(b.serverCpuMicrosPerEventUntilDone, a.serverCpuMicrosPerEventUntilDone),
  };
}

async function inProcess(
  jsons: readonly string[],
  serverCpuMicrosPerEvent: number,
): Promise<DetectionBench["inProcess"]> {
  const eventBridge = await eventBridgeInProcess(jsons, BENCH_RULES);
  const sigmaSkipped = sigmaRulesMissingReason();
  if (sigmaSkipped !== false) return { eventBridge, sigma: [], sigmaSkipped, sigmaShareOfServerCpu: NaN };
  const sigma = await sigmaInProcess(jsons);
  return {
    eventBridge,
    sigma,
    sigmaShareOfServerCpu: Number((sigma[0]!.microsPerRecord / serverCpuMicrosPerEvent).toFixed(3)),
  };
}

export async function benchDetection(
  options: DetectionOptions = {},
): Promise<DetectionBench | { name: "detection"; skipped: string }> {
  const skipped = samplesMissingReason();
  if (skipped !== false) return { name: "detection", skipped };
  const events = options.events ?? 100_000;
  const workload = buildWorkload(events);
  const sigma = sigmaLive();
  if (sigma.skipped !== undefined) console.error(`\n*** detection: Sigma NOT loaded live: ${sigma.skipped} ***\n`);
  const receiver = await startDeliveryReceiver();
  try {
    const rounds: CostRound[] = [];
    for (let round = 0; round < (options.rounds ?? 2); round++) {
      for (const withRules of [false, true]) {
        rounds.push(await costRound(workload, withRules, receiver));
        console.error(
          `detection: round ${round + 1}, ${withRules ? BENCH_RULES.length : 0} rules: ${JSON.stringify(rounds.at(-1))}`,
        );
      }
    }
    const withoutRules = figuresOf(rounds.filter((r) => r.rules === 0));
    const withRules = figuresOf(rounds.filter((r) => r.rules > 0));
    const latency = await latencyPhase(options.latencyRate ?? 200, options.latencySeconds ?? 20, receiver);
    return {
      name: "detection",
      events,
      rules: BENCH_RULES.length,
      ...(sigma.dir !== undefined ? { sigmaRulesDir: sigma.dir } : {}),
      ...(sigma.skipped !== undefined ? { sigmaLiveSkipped: sigma.skipped } : {}),
      matchingFraction: Number((workload.matchingRecords / events).toFixed(4)),
      deliveriesPerEvent: Number((workload.expected.size / events).toFixed(4)),
      rounds,
      withoutRules,
      withRules,
      ratios: ratiosOf(withoutRules, withRules),
      latency,
      inProcess: await inProcess(workload.sampleJsons, withoutRules.serverCpuMicrosPerEvent),
    };
  } finally {
    await receiver.close();
  }
}

export function printDetectionBench(bench: DetectionBench | { name: "detection"; skipped: string }): void {
  if (!("rounds" in bench)) {
    console.log(`\nDetection: ${bench.skipped}`);
    return;
  }
  const { withoutRules: a, withRules: b, ratios } = bench;
  const sigmaRules = bench.rounds.find((r) => r.rules > 0)?.sigmaRules ?? 0;
  const label = `${bench.rules} EB + ${sigmaRules} Sigma`;
  if (bench.sigmaLiveSkipped !== undefined) console.log(`\n*** Sigma NOT loaded live: ${bench.sigmaLiveSkipped} ***`);
  console.log(
    `\nDetection: durable ingest of ${bench.events.toLocaleString("en")} events with no rule vs ${bench.rules} EventBridge rules and ${sigmaRules} Sigma rules live ` +
      `(${(bench.matchingFraction * 100).toFixed(1)}% of records match, ${bench.deliveriesPerEvent} deliveries per event; ` +
      `medians of ${bench.rounds.length / 2} alternated rounds)`,
  );
  console.table([
    {
      figure: "events/s (4 clients, 1,000-record batches)",
      "0 rules": a.eventsPerSec,
      [label]: b.eventsPerSec,
      ratio: ratios.eventsPerSec,
      goal: "≥ 0.85",
    },
    {
      figure: "server CPU µs/event, during ingest",
      "0 rules": a.serverCpuMicrosPerEvent,
      [label]: b.serverCpuMicrosPerEvent,
      ratio: ratios.serverCpuMicrosPerEvent,
      goal: "≤ 1.15",
    },
    {
      figure: "server CPU µs/event, until consumers and deliveries done",
      "0 rules": a.serverCpuMicrosPerEventUntilDone,
      [label]: b.serverCpuMicrosPerEventUntilDone,
      ratio: ratios.serverCpuMicrosPerEventUntilDone,
      goal: "≤ 1.15",
    },
  ]);
  console.table(
    bench.rounds.map((r) => ({
      rules: r.rules,
      sigma: `${r.sigmaRules} (${r.sigmaMatches} matches)`,
      "events/s": r.eventsPerSec,
      "CPU µs/event": r.serverCpuMicrosPerEvent,
      "… until done": r.serverCpuMicrosPerEventUntilDone,
      "consumers caught up after (ms)": r.consumersCaughtUpAfterMs,
      "deliveries received / expected": `${r.deliveriesReceived} / ${r.deliveriesExpected}`,
      "last delivery after ingest (ms)": r.lastDeliveryAfterIngestMs,
    })),
  );
  const l = bench.latency;
  console.log(
    `\nRecord → webhook latency (ingest answered → receiver got it), one record per call, each matching one rule`,
  );
  console.table([
    {
      "events/s": `${l.targetEventsPerSec} (achieved ${l.achievedEventsPerSec})`,
      "delivered / sent": `${l.delivered} / ${l.events}${l.failedIngestCalls > 0 ? ` (${l.failedIngestCalls} calls failed)` : ""}`,
      "p50 ms": l.p50Ms,
      "p95 ms": l.p95Ms,
      "p99 ms": l.p99Ms,
      "max ms": l.maxMs,
      "goal p99": "≤ 1,000 ms",
    },
  ]);
  const p = bench.inProcess;
  console.log(
    `\nRule evaluation in process, one core, against the server's ${a.serverCpuMicrosPerEvent} µs of CPU per ingested event`,
  );
  if (p.sigmaSkipped !== undefined) console.log(p.sigmaSkipped);
  console.table(
    [p.eventBridge, ...p.sigma].map((e) => ({
      case: e.case,
      rules: e.rules,
      "records/s": e.recordsPerSec,
      "µs/record": e.microsPerRecord,
      "share of server CPU/event": `${((e.microsPerRecord / a.serverCpuMicrosPerEvent) * 100).toFixed(1)}%`,
      "matches per 1,000": e.matchesPer1000,
    })),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [events, rounds, latencyRate, latencySeconds] = process.argv.slice(2).map(Number);
  const bench = await benchDetection({
    ...(events ? { events } : {}),
    ...(rounds ? { rounds } : {}),
    ...(latencyRate ? { latencyRate } : {}),
    ...(latencySeconds ? { latencySeconds } : {}),
  });
  printDetectionBench(bench);
  const file = writeBenchResults("detection", bench);
  console.log(JSON.stringify(bench, null, 2));
  console.log(`written: ${file}`);
}
