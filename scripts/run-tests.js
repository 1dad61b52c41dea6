#!/usr/bin/env node
// Runs every compiled *.test.js under dist/ with Node's own test runner, one file at a time
// (tests start real servers; this machine has two cores).
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith(".test.js")) out.push(path);
  }
  return out;
}

const filter = process.argv.slice(2);
const files = [...collect("dist/src", []), ...collect("dist/test", [])]
  .filter((f) => filter.length === 0 || filter.some((part) => f.includes(part)))
  .sort();
if (files.length === 0) {
  console.error("No test files found under dist/.");
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ["--test", "--test-concurrency=1", "--test-reporter=spec", "--test-timeout=600000", "--test-force-exit", ...files],
  {
    stdio: "inherit",
  },
);
process.exit(result.status ?? 1);
