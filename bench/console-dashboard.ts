import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { CloudTrailClient, CreateEventDataStoreCommand, ListEventDataStoresCommand } from "@aws-sdk/client-cloudtrail";
import type { Page } from "playwright-core";
import { browserMissing, launchChromium } from "../test/console/browser.js";
import { importDirectory, percentile } from "./lake-api.js";
import { writeArchive } from "./lake.js";
import { writeBenchResults } from "./results-file.js";
import { loadSamples, recordGenerator } from "./event-history-records.js";
import { BENCH_ACCESS_KEY_ID, BENCH_REGION, BENCH_SECRET, startBenchServer } from "./server-process.js";

/**
 * The console's dashboard over 90 days of a store of N events (default 1,000,000), timed as a user
 * sees it: the real page in Debian Chromium, from the click on "Dashboard" until every widget has
 * rendered (none is loading), with the page's own queries and concurrency. The events are imported
 * as the Lake benches do (gzip trail files, StartImport file://…), spread over the last 89 days.
 * Not part of `npm run bench` nor of CI (it needs Chromium and a console build).
 * Usage: node dist/bench/console-dashboard.js [events=1000000] [runs=5] [--data-dir=DIR]
 * `--data-dir` keeps the server's data: a later run with the same DIR reuses the loaded store (how
 * two builds are compared on the same data, e.g. with bench/alternate.ts).
 */

export interface DashboardBench {
  readonly name: "console-dashboard";
  readonly events: number;
  readonly runs: number;
  readonly loadMs: number[];
  readonly loadP50Ms: number;
  readonly loadMaxMs: number;
  /** Lake queries (StartQuery calls) and API calls the page made per load. */
  readonly queriesPerLoad: number;
  readonly callsPerLoad: number;
  readonly importSeconds?: number;
  readonly loadAverage: string;
}

const DAY_MS = 86_400_000;

async function loadStore(client: CloudTrailClient, events: number): Promise<number | undefined> {
  const existing = (await client.send(new ListEventDataStoresCommand({}))).EventDataStores ?? [];
  if (existing.some((store) => store.Name === "dashboard-bench")) return undefined;
  const archive = mkdtempSync(join(tmpdir(), "cairn-bench-dashboard-archive-"));
  try {
    const lastMs = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    writeArchive(archive, recordGenerator(loadSamples(), events, lastMs - 89 * DAY_MS, lastMs), events);
    const storeId = (
      await client.send(
        new CreateEventDataStoreCommand({
          Name: "dashboard-bench",
          TerminationProtectionEnabled: false,
          StartIngestion: false,
        }),
      )
    ).EventDataStoreArn!.split("/")[1]!;
    const { seconds, imported } = await importDirectory(client, storeId, archive);
    if (imported !== events) throw new Error(`imported ${imported} of ${events} events`);
    process.stderr.write(`dashboard bench: ${events} events imported in ${seconds.toFixed(1)} s\n`);
    return seconds;
  } finally {
    rmSync(archive, { recursive: true, force: true });
  }
}

/** Waits until the dashboard shows widgets and none of them is loading (the page forbids eval: no waitForFunction). */
async function settled(page: Page): Promise<void> {
  await page.locator(".widget[data-state]").first().waitFor();
  const loading = page.locator('.widget[data-state="loading"]');
  while ((await loading.count()) > 0) await loading.first().waitFor({ state: "detached", timeout: 120_000 });
  // A failed widget is not a fast one: the figure counts only loads where every widget answered.
  const failed = await page.locator('.widget[data-state="error"], .widget[data-state="denied"]').count();
  if (failed > 0)
    throw new Error(`${failed} dashboard widgets failed: ${await page.locator(".widget").allInnerTexts()}`);
}

async function signIn(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/console/`);
  await page.getByLabel("Access key ID").fill(BENCH_ACCESS_KEY_ID);
  await page.getByLabel("Secret access key").fill(BENCH_SECRET);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Event history" }).waitFor();
}

export async function benchConsoleDashboard(
  options: { events?: number; runs?: number; dataDir?: string } = {},
): Promise<DashboardBench> {
  const events = options.events ?? 1_000_000;
  const runs = options.runs ?? 5;
  const missing = browserMissing();
  if (missing !== undefined) throw new Error(missing);
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "cairn-bench-dashboard-data-"));
  mkdirSync(dataDir, { recursive: true });
  const server = await startBenchServer(dataDir, { CAIRN_IMPORT_ALLOWED_DIRS: tmpdir() });
  const client = new CloudTrailClient({
    endpoint: server.url,
    region: BENCH_REGION,
    credentials: { accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET },
    maxAttempts: 1,
  });
  const browser = await launchChromium();
  try {
    const importSeconds = await loadStore(client, events);
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: "UTC" });
    const page = await context.newPage();
    let queries = 0;
    let calls = 0;
    page.on("request", (request) => {
      const target = request.headers()["x-amz-target"] ?? "";
      if (target !== "" || request.url().includes("/sigma/")) calls++;
      if (target.endsWith(".StartQuery")) queries++;
    });
    await signIn(page, server.url);
    const nav = page.getByRole("navigation", { name: "Pages" });
    // One load not timed: the browser's caches and the server's first DuckDB connection are warm after it.
    const loadMs: number[] = [];
    let counted = { queries: 0, calls: 0 };
    for (let run = 0; run <= runs; run++) {
      await nav.getByRole("link", { name: "Trails" }).click();
      await page.getByRole("heading", { name: "Trails" }).waitFor();
      await page.waitForTimeout(500);
      queries = 0;
      calls = 0;
      const started = performance.now();
      await nav.getByRole("link", { name: "Dashboard" }).click();
      await settled(page);
      const ms = Math.round(performance.now() - started);
      counted = { queries, calls };
      if (run > 0) loadMs.push(ms);
      process.stderr.write(`dashboard bench: load ${run === 0 ? "(warm-up)" : run} ${ms} ms, ${queries} queries\n`);
    }
    await context.close();
    return {
      name: "console-dashboard",
      events,
      runs,
      loadMs,
      loadP50Ms: percentile(loadMs, 0.5),
      loadMaxMs: Math.max(...loadMs),
      queriesPerLoad: counted.queries,
      callsPerLoad: counted.calls,
      ...(importSeconds !== undefined ? { importSeconds: Math.round(importSeconds * 10) / 10 } : {}),
      loadAverage: execFileSync("uptime", { encoding: "utf8" }).trim(),
    };
  } finally {
    await browser.close();
    client.destroy();
    await server.stop();
    if (options.dataDir === undefined && existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const positional = args.filter((arg) => !arg.startsWith("--"));
  const dataDir = args.find((arg) => arg.startsWith("--data-dir="))?.slice("--data-dir=".length);
  const result = await benchConsoleDashboard({
    events: Number(positional[0] ?? 1_000_000),
    runs: Number(positional[1] ?? 5),
    ...(dataDir !== undefined ? { dataDir } : {}),
  });
  console.log(JSON.stringify(result, null, 2));
  process.stderr.write(`written: ${writeBenchResults("console-dashboard", result)}\n`);
}
