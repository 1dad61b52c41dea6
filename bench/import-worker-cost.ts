/**
 * CPU per record of a Lake import worker's JavaScript (import-worker.ts's loop: gunzip and parse a
 * trail file, normalizeIngestedRecord, rowLine, keyHash) on 20 gzip files of 1,000 of the benches'
 * records, without threads, DuckDB or the server. Given another built checkout, runs its modules and
 * this build's alternately in one process (7 rounds), so both see the same load (decision 0029).
 *
 * Run: node dist/bench/import-worker-cost.js [other built checkout]
 */
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { loadSamples, recordGenerator } from "./event-history-records.js";

interface Stages {
  readonly normalize: (
    raw: unknown,
    context: object,
  ) => { ok: boolean; record?: unknown; json?: string; dedupKey?: string };
  readonly parseTrailBytes: (bytes: Buffer, path: string) => { ok: boolean; records?: unknown[] };
  readonly contentUuid: (raw: unknown) => string;
  readonly rowLine: (record: unknown, json: string) => string;
  readonly keyHash: (key: string) => Buffer;
}

const ROUNDS = 7;
const RECEIVED_AT_MS = Date.UTC(2027, 0, 1);

async function stagesOf(root: string): Promise<Stages> {
  const load = async (path: string) =>
    (await import(pathToFileURL(join(root, "dist/src", path)).href)) as Record<string, unknown>;
  const pipeline = await load("normalize/pipeline.js");
  const rows = await load("control-plane/lake/import/import-rows.js");
  const catalog = await load("lake/catalog/lake-catalog.js");
  return {
    normalize: pipeline["normalizeIngestedRecord"] as Stages["normalize"],
    parseTrailBytes: rows["parseTrailBytes"] as Stages["parseTrailBytes"],
    contentUuid: rows["contentUuid"] as Stages["contentUuid"],
    rowLine: rows["rowLine"] as Stages["rowLine"],
    keyHash: catalog["keyHash"] as Stages["keyHash"],
  };
}

function benchFiles(): Buffer[] {
  const generator = recordGenerator(loadSamples(), 20_000, Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 30));
  return Array.from({ length: 20 }, (_, file) =>
    gzipSync(JSON.stringify({ Records: Array.from({ length: 1000 }, (_, i) => generator.record(file * 1000 + i)) })),
  );
}

/** The worker's loop over every file; returns the records that became lines. */
function processFiles(stages: Stages, files: readonly Buffer[]): number {
  let lines = 0;
  for (const bytes of files) {
    const records = stages.parseTrailBytes(bytes, "bench").records ?? [];
    for (const raw of records) {
      const result = stages.normalize(raw, { receivedAtMs: RECEIVED_AT_MS, randomUUID: () => stages.contentUuid(raw) });
      if (!result.ok || result.json === undefined || result.dedupKey === undefined) continue;
      stages.rowLine(result.record, result.json);
      stages.keyHash(result.dedupKey);
      lines += 1;
    }
  }
  return lines;
}

function cpuMicrosPerRecord(stages: Stages, files: readonly Buffer[]): number {
  const start = process.cpuUsage();
  let records = 0;
  for (let repeat = 0; repeat < 3; repeat += 1) records += processFiles(stages, files);
  const cpu = process.cpuUsage(start);
  return (cpu.user + cpu.system) / records;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const other = process.argv[2];
const builds: Array<[string, Stages]> = [["this", await stagesOf(resolve(import.meta.dirname, "../.."))]];
if (other !== undefined) builds.unshift(["other", await stagesOf(resolve(other))]);
const files = benchFiles();
for (const [, stages] of builds) processFiles(stages, files);
const samples = new Map<string, number[]>(builds.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round += 1) {
  for (const [name, stages] of builds) samples.get(name)!.push(cpuMicrosPerRecord(stages, files));
}
const round1 = (value: number) => Math.round(value * 10) / 10;
const summary = Object.fromEntries(
  [...samples].map(([name, values]) => [`${name}CpuMicrosPerRecord`, round1(median(values))]),
);
for (const [name, values] of samples) console.log(`${name}: ${values.map(round1).join(" ")} µs of CPU per record`);
console.log(JSON.stringify(summary, null, 2));
