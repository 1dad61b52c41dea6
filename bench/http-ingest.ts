import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { loadSamples, recordGenerator } from "./event-history-records.js";
import { benchSigner, rssOf, sendIngest, startBenchServer } from "./server-process.js";

/**
 * Durable ingest over HTTP: a real `cairn server` process, `clients` concurrent SigV4-signed
 * `POST /ingest` calls of `batch` records (~1.2 KB each, the shapes of the shared samples), each
 * answered only after fsync. Baseline: the cheapest durable write a user could script by hand,
 * the same records appended as NDJSON to one file with an fsync per batch (no validation, no
 * de-duplication, no index, no HTTP).
 * Usage: node dist/bench/http-ingest.js [events=200000] [clients=4] [batch=1000]
 * CAIRN_BENCH_INGEST_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server under this load
 * (docs/decisions/0020-ingest-cost.md reads such profiles).
 */
export interface HttpIngestBench {
  readonly name: "http-ingest";
  readonly events: number;
  readonly clients: number;
  readonly batchRecords: number;
  readonly eventsPerSec: number;
  readonly baselineNdjsonFsyncEventsPerSec: number;
  readonly ratioToBaseline: number;
  readonly serverRssBytes: number;
  /**
   * Server CPU time (user + system, all threads) per event during the load: steadier than events/s on
   * a shared machine, where the server gets whatever CPU share the other load leaves it.
   */
  readonly serverCpuMicrosPerEvent: number;
  /** Of which the main thread's (HTTP, normalise, journal append, the consumers on the event loop). */
  readonly serverMainThreadCpuMicrosPerEvent: number;
  /** Server CPU from the start of the load until every consumer had read the last entry, per event. */
  readonly serverCpuMicrosPerEventCaughtUp: number;
  /**
   * The same until caught up, per thread, largest first (threads above 1 µs/event). Node's threads are
   * unnamed; in a default server the first after the main thread are the Event history indexer and the
   * journal's compression thread (decision 0020 tells them apart with a profile).
   */
  readonly serverThreadsCpuMicrosPerEventCaughtUp: number[];
}

/** User + system CPU seconds of a process so far, or of one of its threads (Linux /proc; 0 elsewhere). */
export function cpuSecondsOf(pid: number, thread?: number): number {
  try {
    const path = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`;
    const fields = readFileSync(path, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds of every thread of a process so far, by thread id (Linux /proc; empty elsewhere). */
function threadCpuSeconds(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  try {
    for (const name of readdirSync(`/proc/${pid}/task`)) threads.set(Number(name), cpuSecondsOf(pid, Number(name)));
  } catch {
    // Not Linux, or the process is gone: no breakdown.
  }
  return threads;
}

/** Polls /health until every consumer has read the journal's head (at most 5 minutes: a stuck one ends the wait). */
async function consumersCaughtUp(url: string): Promise<void> {
  const deadline = performance.now() + 300_000;
  while (performance.now() < deadline) {
    const health = (await (await fetch(`${url}/health`)).json()) as {
      consumers: Record<string, { lagRecords: number }>;
    };
    if (Object.values(health.consumers).every((consumer) => consumer.lagRecords === 0)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function buildBodies(events: number, batch: number): Buffer[] {
  const nowMs = Date.now();
  const generator = recordGenerator(loadSamples(), events, nowMs - 3_600_000, nowMs - 1_000);
  const bodies: Buffer[] = [];
  for (let start = 0; start < events; start += batch) {
    const records = [];
    for (let i = start; i < Math.min(events, start + batch); i++) records.push(generator.record(i));
    bodies.push(Buffer.from(JSON.stringify({ Records: records })));
  }
  return bodies;
}

function baselineNdjsonFsync(bodies: Buffer[], directory: string): number {
  const path = join(directory, "baseline.ndjson");
  const fd = openSync(path, "a");
  let events = 0;
  const started = performance.now();
  for (const body of bodies) {
    const records = (JSON.parse(body.toString("utf8")) as { Records: unknown[] }).Records;
    writeSync(fd, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
    fsyncSync(fd);
    events += records.length;
  }
  const seconds = (performance.now() - started) / 1000;
  closeSync(fd);
  return events / seconds;
}

export async function benchHttpIngest(
  events = 200_000,
  clients = 4,
  batch = 1000,
  env: Record<string, string> = {},
): Promise<HttpIngestBench> {
  const bodies = buildBodies(events, batch);
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-bench-ingest-"));
  const nodeArgs = (process.env["CAIRN_BENCH_INGEST_NODE_ARGS"] ?? "").split(" ").filter((arg) => arg !== "");
  const server = await startBenchServer(dataDir, env, nodeArgs);
  try {
    const signer = benchSigner();
    let next = 0;
    const cpuBefore = cpuSecondsOf(server.pid);
    const mainBefore = cpuSecondsOf(server.pid, server.pid);
    const threadsBefore = threadCpuSeconds(server.pid);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < bodies.length) await sendIngest(server.url, signer, bodies[next++]!);
      }),
    );
    const eventsPerSec = events / ((performance.now() - started) / 1000);
    const serverCpuSeconds = cpuSecondsOf(server.pid) - cpuBefore;
    const mainCpuSeconds = cpuSecondsOf(server.pid, server.pid) - mainBefore;
    await consumersCaughtUp(server.url);
    const caughtUpCpuSeconds = cpuSecondsOf(server.pid) - cpuBefore;
    const threads = [...threadCpuSeconds(server.pid)]
      .map(([id, seconds]) => Math.round(((seconds - (threadsBefore.get(id) ?? 0)) * 1e6) / events))
      .filter((micros) => micros >= 1)
      .sort((a, b) => b - a);
    const serverRssBytes = rssOf(server.pid);
    const baseline = baselineNdjsonFsync(bodies, dataDir);
    return {
      name: "http-ingest",
      events,
      clients,
      batchRecords: batch,
      eventsPerSec: Math.round(eventsPerSec),
      baselineNdjsonFsyncEventsPerSec: Math.round(baseline),
      ratioToBaseline: Number((eventsPerSec / baseline).toFixed(3)),
      serverRssBytes,
      serverCpuMicrosPerEvent: Math.round((serverCpuSeconds * 1e6) / events),
      serverMainThreadCpuMicrosPerEvent: Math.round((mainCpuSeconds * 1e6) / events),
      serverCpuMicrosPerEventCaughtUp: Math.round((caughtUpCpuSeconds * 1e6) / events),
      serverThreadsCpuMicrosPerEventCaughtUp: threads,
    };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [events, clients, batch] = process.argv.slice(2).map(Number);
  console.log(
    JSON.stringify(await benchHttpIngest(events || undefined, clients || undefined, batch || undefined), null, 2),
  );
}
