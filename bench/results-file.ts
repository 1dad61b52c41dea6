import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** Writes a bench's figures to `bench/results/<name>-<time>.json`; resolves to the file written. */
export function writeBenchResults(name: string, results: unknown): string {
  const directory = resolve(import.meta.dirname, "../../bench/results");
  mkdirSync(directory, { recursive: true });
  const file = join(directory, `${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2));
  return file;
}
