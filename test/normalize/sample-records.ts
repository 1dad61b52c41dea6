/**
 * Reads the shared CloudTrail samples (never copied into the repo) for tests and the benchmark.
 * Files that are not `{"Records":[...]}` (digest examples, Panther's index.json, the deliberately
 * malformed zmallen file) are listed as skipped rather than failing the load.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { SAMPLES_DIR, samplesMissingReason } from "../helpers/sample-records.js";

export interface SampleRecord {
  readonly dataset: string;
  readonly file: string;
  readonly index: number;
  readonly raw: unknown;
}

export interface SampleSet {
  readonly records: SampleRecord[];
  readonly skippedFiles: string[];
}

export { samplesMissingReason };

export function loadSampleRecords(): SampleSet {
  const records: SampleRecord[] = [];
  const skippedFiles: string[] = [];
  for (const dataset of readdirSync(SAMPLES_DIR, { withFileTypes: true })) {
    if (!dataset.isDirectory()) continue;
    for (const file of readdirSync(join(SAMPLES_DIR, dataset.name)).sort()) {
      if (!file.endsWith(".json") && !file.endsWith(".json.gz")) continue;
      const list = readRecordsFile(join(SAMPLES_DIR, dataset.name, file));
      if (list === undefined) {
        skippedFiles.push(`${dataset.name}/${file}`);
        continue;
      }
      list.forEach((raw, index) => records.push({ dataset: dataset.name, file, index, raw }));
    }
  }
  return { records, skippedFiles };
}

function readRecordsFile(path: string): unknown[] | undefined {
  const bytes = readFileSync(path);
  const text = (path.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || !("Records" in parsed)) return undefined;
  const list: unknown = parsed.Records;
  return Array.isArray(list) ? (list as unknown[]) : undefined;
}
