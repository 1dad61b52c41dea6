#!/usr/bin/env node
// Runs every compiled *.test.js under dist/ with Node's own test runner, one file at a time
// (tests start real servers; this machine has two cores). The longer fault matrix under
// dist/test/faults runs only with --faults (`npm run test:faults`), and then alone.
import { readdirSync, statSync } from "node:fs";
import { join, sep } from "node:path";
import { spawnSync } from "node:child_process";

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith(".test.js")) out.push(path);
  }
  return out;
}

const FAULTS = join("dist", "test", "faults") + sep;
const faults = process.argv.includes("--faults");
const filter = process.argv.slice(2).filter((arg) => arg !== "--faults");
const files = [...collect("dist/src", []), ...collect("dist/test", [])]
  .filter((f) => f.startsWith(FAULTS) === faults)
  .filter((f) => filter.length === 0 || filter.some((part) => f.includes(part)))
  .sort();
if (files.length === 0) {
  console.error("No test files found under dist/.");
  process.exit(1);
}
const runTests = (testFiles, env = process.env) =>
  spawnSync(
    process.execPath,
    [
      "--test",
      "--test-concurrency=1",
      "--test-reporter=spec",
      "--test-timeout=600000",
      "--test-force-exit",
      ...testFiles,
    ],
    { stdio: "inherit", env },
  ).status ?? 1;

// Integration tests that run a second time against a cluster node (PostgreSQL, nats-server, moto;
// test/helpers/test-backend.ts): one test, two backends. Files the cluster cannot serve the same way
// (the embedded S3 endpoint, a data dir's files) stay embedded-only; the list and the reasons are in
// docs/reference/cluster.md#integration-tests-on-both-backends.
const CLUSTER_MATRIX = [
  "integration/lookup-events-sdk.test.js",
  "integration/lookup-events-aws-cli.test.js",
  "integration/trails-sdk.test.js",
  "integration/trail-status-aws-cli.test.js",
  "integration/trail-notifications-aws-cli.test.js",
  "integration/events-delivery-aws-cli.test.js",
  "integration/hostile-input.test.js",
  "integration/tail-resume.test.js",
  "integration/cli-live.test.js",
  "integration/seed-examples-ingest.test.js",
  "integration/lake-sdk.test.js",
  "integration/lake-saved-queries.test.js",
  "integration/lake-channels.test.js",
  "integration/lake-typed-columns.test.js",
  "integration/put-audit-events-retry.test.js",
  "integration/plumbing-events.test.js",
  "integration/poison-input.test.js",
  "integration/bounded-work.test.js",
  "integration/quarantine.test.js",
  "integration/fuzz-hostile-records.test.js",
  "integration/ingested-by.test.js",
  "integration/account-isolation.test.js",
  "integration/middleware-express-fastify.test.js",
  "integration/proxy-aws-cli.test.js",
  "capture/proxy-in-process.test.js",
  "sigma/sigma-live.test.js",
];

async function clusterPass() {
  const matrix = files.filter((f) => CLUSTER_MATRIX.some((name) => f.endsWith(name)));
  if (matrix.length === 0) return 0;
  const { clusterEnginesMissingReason } = await import("../dist/test/helpers/cluster-engines.js");
  if (clusterEnginesMissingReason("the cluster pass of the integration tests")) return 0;
  console.log(`\n# cluster pass: ${matrix.length} integration test files again, against a cluster node\n`);
  return runTests(matrix, { ...process.env, CAIRN_TEST_BACKEND: "cluster" });
}

const embedded = runTests(files);
const cluster = await clusterPass();
process.exit(embedded !== 0 ? embedded : cluster);
