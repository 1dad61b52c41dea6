import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

/**
 * Old build against new, alternately in one run: on a shared machine the load drifts, so each round
 * runs the same bench from both builds back to back and the medians are compared.
 * Usage: node dist/bench/alternate.js <old checkout> <bench name> <rounds> [bench args…]
 * e.g.   node dist/bench/alternate.js ../cairn-main http-ingest 3 100000 4 1000
 * Both checkouts must be built (`npm run build`). Every numeric leaf of the bench's JSON is compared.
 */
const [oldRoot, bench, roundsText, ...args] = process.argv.slice(2);
if (oldRoot === undefined || bench === undefined) {
  console.error("usage: node dist/bench/alternate.js <old checkout> <bench name> <rounds> [bench args…]");
  process.exit(2);
}
const builds = { old: resolve(oldRoot), new: resolve(import.meta.dirname, "../..") };
const rounds = Number(roundsText ?? 3);

/**
 * The last pretty-printed JSON object a bench printed (benches may log tables and lines around it),
 * else the results file it named (`written <file>.json`: lake-query prints a table and writes its JSON).
 */
function lastJson(output: string): unknown {
  const lines = output.split("\n");
  const end = lines.lastIndexOf("}");
  const start = lines.lastIndexOf("{", end);
  if (start !== -1 && end !== -1) return JSON.parse(lines.slice(start, end + 1).join("\n"));
  const written = /written:? (\S+\.json)\s*$/m.exec(output)?.[1];
  if (written !== undefined) return JSON.parse(readFileSync(written, "utf8"));
  throw new Error(`No JSON object in the bench's output:\n${output.slice(-2000)}`);
}

function numericLeaves(value: unknown, prefix = "", out = new Map<string, number>()): Map<string, number> {
  if (typeof value === "number") out.set(prefix, value);
  else if (typeof value === "object" && value !== null)
    for (const [key, member] of Object.entries(value)) numericLeaves(member, prefix ? `${prefix}.${key}` : key, out);
  return out;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const samples = { old: [] as Map<string, number>[], new: [] as Map<string, number>[] };
for (let round = 1; round <= rounds; round++) {
  for (const build of ["old", "new"] as const) {
    const script = join(builds[build], "dist/bench", `${bench}.js`);
    const output = execFileSync(process.execPath, [script, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
    samples[build].push(numericLeaves(lastJson(output)));
    console.error(`round ${round}/${rounds}: ${build} done`);
  }
}

const rows = [...(samples.new[0]?.keys() ?? [])].map((figure) => {
  const oldMedian = median(samples.old.map((sample) => sample.get(figure) ?? NaN));
  const newMedian = median(samples.new.map((sample) => sample.get(figure) ?? NaN));
  return { figure, old: oldMedian, new: newMedian, newOverOld: Number((newMedian / oldMedian).toFixed(3)) };
});
console.table(rows);
const directory = resolve(import.meta.dirname, "../../bench/results");
mkdirSync(directory, { recursive: true });
const file = join(directory, `alternate-${bench}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
const commitOf = (root: string): string =>
  execFileSync("git", ["-C", root, "log", "-1", "--format=%h %s"], { encoding: "utf8" }).trim();
const commits = { old: commitOf(builds.old), new: commitOf(builds.new) };
writeFileSync(file, JSON.stringify({ bench, args, rounds, builds: commits, rows }, null, 2));
console.log(`written: ${file}`);
