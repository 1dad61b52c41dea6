/**
 * Throughput of normalizeIngestedRecord over the shared CloudTrail samples (all 4,062 records,
 * accepted and rejected alike, as an ingest batch would mix them). Single-threaded: the ingest goal
 * of 50,000 records/s on 2 cores leaves this stage a fraction of one core.
 *
 * Run: npm run build && node dist/bench/normalize.js
 */
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { normalizeIngestedRecord } from "../src/normalize/pipeline.js";
import { loadSampleRecords } from "../test/normalize/sample-records.js";

const WARMUP_ROUNDS = 5;
const MEASURE_MS = 2000;
const RECEIVED_AT_MS = Date.UTC(2026, 0, 1);

export async function benchNormalize(): Promise<{ name: string; recordsPerSec: number }> {
  // Parse once up front: JSON.parse belongs to the ingest route, not to this stage.
  const records = loadSampleRecords().records.map((sample) => sample.raw);
  let counter = 0;
  const context = { receivedAtMs: RECEIVED_AT_MS, randomUUID: () => `bench-${(counter += 1)}` };
  for (let round = 0; round < WARMUP_ROUNDS; round += 1) {
    for (const raw of records) normalizeIngestedRecord(raw, context);
  }
  let processed = 0;
  const startMs = performance.now();
  let elapsedMs = 0;
  while (elapsedMs < MEASURE_MS) {
    for (const raw of records) normalizeIngestedRecord(raw, context);
    processed += records.length;
    elapsedMs = performance.now() - startMs;
  }
  return { name: "normalize", recordsPerSec: Math.round((processed / elapsedMs) * 1000) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchNormalize();
  console.log(`${result.name}: ${result.recordsPerSec.toLocaleString("en-US")} records/s`);
}
