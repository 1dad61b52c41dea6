/**
 * What live Sigma costs per journal record: every SigmaHQ CloudTrail rule that loads (the active
 * rules and the Sigma 1 count rules of ../shared/data/sigma-cloudtrail, about 60) over the shared
 * CloudTrail samples, as the Sigma consumer runs them: JSON.parse of the journal entry, the record's
 * account, and its engine (rules indexed by eventName). Printed as µs per record and as the share of
 * one core at the ingest goal of 50,000 records/s (issue #14: live rules cost at most 15% of ingest).
 * Single-threaded; the consumer runs beside ingest on its own share of the machine.
 *
 * Run: npm run build && node dist/bench/sigma-eval.js
 */
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { benchHttpIngest } from "./http-ingest.js";
import { SigmaEvaluator } from "../src/consumers/sigma/sigma-evaluator.js";
import { loadRuleFiles, SigmaEngine } from "../src/sigma/index.js";
import { invictusRecords, samplesMissingReason } from "../test/helpers/sample-records.js";
import { ACTIVE_RULES_DIR, sigmaRulesMissingReason, UNSUPPORTED_RULES_DIR } from "../test/helpers/sigma-rules.js";

const MEASURE_MS = 2000;
const INGEST_GOAL_PER_SEC = 50_000;

export interface SigmaBench {
  readonly name: string;
  readonly rules: number;
  readonly indexedRules: number;
  readonly records: number;
  /** The whole per-record cost: JSON.parse of the entry, the account, the rules. */
  readonly microsPerRecord: number;
  /** The rules alone, on records already parsed. */
  readonly rulesMicrosPerRecord: number;
  readonly recordsPerSec: number;
  /** The share of one core the rules take at the ingest goal's rate. */
  readonly shareAtIngestGoal: number;
}

function measure(round: () => number): { microsPerRecord: number; recordsPerSec: number } {
  for (let warmup = 0; warmup < 3; warmup++) round();
  let processed = 0;
  const startMs = performance.now();
  let elapsedMs = 0;
  while (elapsedMs < MEASURE_MS) {
    processed += round();
    elapsedMs = performance.now() - startMs;
  }
  return { microsPerRecord: (elapsedMs * 1000) / processed, recordsPerSec: Math.round((processed / elapsedMs) * 1000) };
}

export async function benchSigmaEval(): Promise<SigmaBench | undefined> {
  const missing = samplesMissingReason() || sigmaRulesMissingReason();
  if (missing !== false) {
    console.log(missing);
    return undefined;
  }
  const { rules } = await loadRuleFiles([ACTIVE_RULES_DIR, UNSUPPORTED_RULES_DIR]);
  const entries = invictusRecords().map((record) => JSON.stringify(record));
  const evaluator = new SigmaEvaluator(rules, () => undefined);
  const engine = new SigmaEngine(rules);
  const parsed = entries.map((json) => JSON.parse(json) as unknown);
  const rulesOnly = measure(() => {
    for (const record of parsed) engine.offer(record);
    return parsed.length;
  });
  let seq = 0;
  const { microsPerRecord, recordsPerSec } = measure(() => {
    // Correlation state is kept across rounds, as live; the bounds keep it small.
    for (const json of entries) evaluator.offer(JSON.parse(json), ++seq, 0);
    return entries.length;
  });
  return {
    name: "sigma-eval",
    rules: engine.ruleCount,
    indexedRules: engine.indexedRuleCount,
    records: entries.length,
    microsPerRecord: Math.round(microsPerRecord * 100) / 100,
    rulesMicrosPerRecord: Math.round(rulesOnly.microsPerRecord * 100) / 100,
    recordsPerSec,
    shareAtIngestGoal: Math.round(((INGEST_GOAL_PER_SEC * microsPerRecord) / 1_000_000) * 1000) / 1000,
  };
}

/** `ingestCpuMicrosPerEvent`: the server's CPU per ingested event (bench/http-ingest.ts), to compare with. */
export function printSigmaBench(result: SigmaBench | undefined, ingestCpuMicrosPerEvent?: number): void {
  if (result === undefined) return;
  console.log(
    `\nLive Sigma: ${result.rules} rules (${result.indexedRules} detection rules indexed by eventName) over ` +
      `${result.records} records: ${result.microsPerRecord} µs a record with JSON.parse (${result.recordsPerSec.toLocaleString("en-US")} records/s), ` +
      `the rules alone ${result.rulesMicrosPerRecord} µs; ` +
      `${(result.shareAtIngestGoal * 100).toFixed(1)}% of a core at ${INGEST_GOAL_PER_SEC.toLocaleString("en-US")} records/s`,
  );
  if (ingestCpuMicrosPerEvent !== undefined && ingestCpuMicrosPerEvent > 0)
    console.log(
      `  against the server's ingest CPU (${ingestCpuMicrosPerEvent} µs an event, http-ingest): ` +
        `${((result.microsPerRecord / ingestCpuMicrosPerEvent) * 100).toFixed(1)}% more CPU per event (goal: ingest rate drops ≤ 15%)`,
    );
}

export interface SigmaIngestBench {
  readonly events: number;
  readonly eventsPerSecWithout: number;
  readonly eventsPerSecWith: number;
  /** How much the ingest rate dropped with every rule loaded server-wide (goal ≤ 0.15). */
  readonly drop: number;
}

/**
 * Durable ingest over HTTP (bench/http-ingest.ts) without Sigma rules, then with every SigmaHQ
 * CloudTrail rule as server-wide rules (CAIRN_SIGMA_RULES_DIR): the measure. Noisy on a
 * shared machine: compare several runs.
 */
export async function benchSigmaIngest(events: number): Promise<SigmaIngestBench | undefined> {
  if ((samplesMissingReason() || sigmaRulesMissingReason()) !== false) return undefined;
  const without = await benchHttpIngest(events);
  const withRules = await benchHttpIngest(events, 4, 1000, {
    CAIRN_SIGMA_RULES_DIR: join(ACTIVE_RULES_DIR, "../../../.."),
  });
  return {
    events,
    eventsPerSecWithout: without.eventsPerSec,
    eventsPerSecWith: withRules.eventsPerSec,
    drop: Math.round((1 - withRules.eventsPerSec / without.eventsPerSec) * 1000) / 1000,
  };
}

export function printSigmaIngest(ingest: SigmaIngestBench | undefined): void {
  if (ingest === undefined) return;
  console.log(
    `Durable ingest, ${ingest.events} events: ${ingest.eventsPerSecWithout} events/s without Sigma rules, ` +
      `${ingest.eventsPerSecWith} with every SigmaHQ rule server-wide: ${(ingest.drop * 100).toFixed(1)}% slower (goal ≤ 15%)`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  printSigmaBench(await benchSigmaEval());
  printSigmaIngest(await benchSigmaIngest(Number(process.argv[2] ?? 50_000)));
}
