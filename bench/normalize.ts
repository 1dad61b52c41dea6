/**
 * Throughput of normalizeIngestedRecord over the shared CloudTrail samples (all 4,062 records,
 * accepted and rejected alike, as an ingest batch would mix them) and over the http-ingest and Lake
 * benches' generated records (invictus deliveries with fresh ids, users and times: records already
 * in CloudTrail's shape, decision 0029). Single-threaded: the ingest goal of 50,000 records/s on 2
 * cores leaves this stage a fraction of one core.
 *
 * Run: npm run build && node dist/bench/normalize.js (prints µs per record and a JSON summary). To
 * compare two builds, copy this file's compiled form into the other build's dist/bench/ so both run
 * the same bench against their own pipeline: node dist/bench/alternate.js <other> normalize 5
 */
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { normalizeIngestedRecord } from "../src/normalize/pipeline.js";
import { loadSampleRecords } from "../test/normalize/sample-records.js";
import { loadSamples, recordGenerator } from "./event-history-records.js";

const WARMUP_ROUNDS = 5;
const MEASURE_MS = 2000;
const RECEIVED_AT_MS = Date.UTC(2026, 0, 1);
const GENERATED_RECORDS = 20_000;

interface Throughput {
  readonly recordsPerSec: number;
  /** This process's CPU time per record: steadier than the wall clock on a loaded machine. */
  readonly cpuMicrosPerRecord: number;
}

/** Records per second over `records`, after a warm-up; JSON.parse is not included (the caller's). */
function throughput(records: readonly unknown[]): Throughput {
  let counter = 0;
  const context = { receivedAtMs: RECEIVED_AT_MS, randomUUID: () => `bench-${(counter += 1)}` };
  for (let round = 0; round < WARMUP_ROUNDS; round += 1) {
    for (const raw of records) normalizeIngestedRecord(raw, context);
  }
  let processed = 0;
  const startMs = performance.now();
  const startCpu = process.cpuUsage();
  let elapsedMs = 0;
  while (elapsedMs < MEASURE_MS) {
    for (const raw of records) normalizeIngestedRecord(raw, context);
    processed += records.length;
    elapsedMs = performance.now() - startMs;
  }
  const cpu = process.cpuUsage(startCpu);
  return {
    recordsPerSec: (processed / elapsedMs) * 1000,
    cpuMicrosPerRecord: Math.round(((cpu.user + cpu.system) / processed) * 100) / 100,
  };
}

/** The benches' records as a sender's JSON would give them (parsed from text, no undefined members). */
function generatedRecords(): unknown[] {
  const generator = recordGenerator(loadSamples(), GENERATED_RECORDS, Date.UTC(2025, 0, 1), Date.UTC(2025, 0, 31));
  return Array.from({ length: GENERATED_RECORDS }, (_, i) => JSON.parse(JSON.stringify(generator.record(i))));
}

export async function benchNormalize(): Promise<{ name: string; recordsPerSec: number }> {
  // Parse once up front: JSON.parse belongs to the ingest route, not to this stage.
  const records = loadSampleRecords().records.map((sample) => sample.raw);
  return { name: "normalize", recordsPerSec: Math.round(throughput(records).recordsPerSec) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const samples = throughput(loadSampleRecords().records.map((sample) => sample.raw));
  const generated = throughput(generatedRecords());
  const micros = (perSec: number) => Math.round(1e7 / perSec) / 10;
  console.log(`normalize, shared samples: ${Math.round(samples.recordsPerSec).toLocaleString("en-US")} records/s`);
  console.log(`normalize, bench records: ${Math.round(generated.recordsPerSec).toLocaleString("en-US")} records/s`);
  const summary = {
    samplesMicrosPerRecord: micros(samples.recordsPerSec),
    samplesCpuMicrosPerRecord: samples.cpuMicrosPerRecord,
    benchRecordsMicrosPerRecord: micros(generated.recordsPerSec),
    benchRecordsCpuMicrosPerRecord: generated.cpuMicrosPerRecord,
  };
  console.log(JSON.stringify(summary, null, 2));
}
