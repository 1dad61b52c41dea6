import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import {
  CloudTrailClient,
  CreateEventDataStoreCommand,
  DescribeQueryCommand,
  LookupEventsCommand,
  StartQueryCommand,
} from "@aws-sdk/client-cloudtrail";
import { cpuSecondsOf } from "./http-ingest.js";
import {
  BENCH_ACCESS_KEY_ID,
  BENCH_REGION,
  BENCH_SECRET,
  benchSigner,
  sendIngest,
  startBenchServer,
} from "./server-process.js";
import { loadSamples, recordGenerator } from "./event-history-records.js";
import { writeBenchResults } from "./results-file.js";

/**
 * Read-only API calls under concurrent polling (issue #15): every call's self-audit record is made
 * durable before the answer (fail closed), and the journal's group commit lets calls that arrive
 * while an fsync is under way share the next one. N clients poll DescribeQuery (a finished query)
 * and LookupEvents on a real `cairn server`; the fsyncs are counted with `strace -f -y` on the server
 * (all threads) and split into the journal's and the rest (consumers' SQLite commits): the kernel's
 * figure, not the journal's own bookkeeping. The alternative
 * a client would otherwise see: the same calls one at a time, one fsync each (clients = 1).
 * Usage: node dist/bench/self-audit.js [calls per client count=2000] [client counts=1,4,16]
 */
export interface SelfAuditFigure {
  readonly operation: "DescribeQuery" | "LookupEvents";
  readonly clients: number;
  readonly calls: number;
  readonly callsPerSec: number;
  /** fsync + fdatasync calls of the whole server process during the load, per call; null without strace. */
  readonly fsyncsPerCall: number | null;
  /** Of which the journal's (segment files): the self-audit records' group commits. */
  readonly journalFsyncsPerCall: number | null;
  readonly serverCpuMicrosPerCall: number;
}

export interface SelfAuditBench {
  readonly name: "self-audit";
  readonly figures: SelfAuditFigure[];
}

/** fsyncs seen during a run: of the journal's segment files, and of everything else (consumers' SQLite, cursors). */
interface FsyncCount {
  readonly journal: number;
  readonly other: number;
}

/** Counts the fsync lines of an `strace -y` log by the kind of file each one syncs. */
function countFsyncLines(log: string): FsyncCount {
  let journal = 0;
  let other = 0;
  for (const match of log.matchAll(/\b(?:fsync|fdatasync)\(\d+<([^>]*)>/g)) {
    if (match[1]!.endsWith(".seg")) journal++;
    else other++;
  }
  return { journal, other };
}

/**
 * The server's fsyncs (all threads) while `run` runs, by `strace -f -y` (only those two calls are
 * stopped on, with seccomp-bpf); null when strace is absent or may not attach (ptrace not allowed).
 */
async function countingFsyncs<T>(
  pid: number,
  run: () => Promise<T>,
): Promise<{ result: T; fsyncs: FsyncCount | null }> {
  if (spawnSync("strace", ["-V"]).status !== 0) return { result: await run(), fsyncs: null };
  const directory = mkdtempSync(join(tmpdir(), "cairn-strace-"));
  const output = join(directory, "log");
  const tracer: ChildProcess = spawn(
    "strace",
    ["-f", "-y", "--seccomp-bpf", "-e", "trace=fsync,fdatasync", "-o", output, "-p", String(pid)],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  // strace says "Process N attached" on stderr once it traces; waiting for it misses no fsync.
  const attached = await new Promise<boolean>((resolve) => {
    let stderr = "";
    tracer.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes("attached")) resolve(true);
    });
    tracer.once("exit", () => resolve(false));
  });
  try {
    const result = await run();
    if (!attached) return { result, fsyncs: null };
    const exited = new Promise((resolve) => tracer.once("exit", resolve));
    tracer.kill("SIGINT");
    await exited;
    return { result, fsyncs: countFsyncLines(readFileSync(output, "utf8")) };
  } finally {
    if (tracer.exitCode === null && tracer.signalCode === null) tracer.kill("SIGINT");
    rmSync(directory, { recursive: true, force: true });
  }
}

async function seed(url: string, events: number): Promise<void> {
  const nowMs = Date.now();
  const generator = recordGenerator(loadSamples(), events, nowMs - 3_600_000, nowMs - 1_000);
  const records = Array.from({ length: events }, (_, i) => generator.record(i));
  await sendIngest(url, benchSigner(), Buffer.from(JSON.stringify({ Records: records })));
}

async function finishedQuery(client: CloudTrailClient): Promise<string> {
  const store = await client.send(
    new CreateEventDataStoreCommand({ Name: "bench-self-audit", TerminationProtectionEnabled: false }),
  );
  const storeId = store.EventDataStoreArn!.split("/").at(-1)!;
  const { QueryId } = await client.send(new StartQueryCommand({ QueryStatement: `SELECT count(*) FROM ${storeId}` }));
  for (;;) {
    const { QueryStatus } = await client.send(new DescribeQueryCommand({ QueryId }));
    if (QueryStatus === "FINISHED") return QueryId!;
    if (QueryStatus !== "QUEUED" && QueryStatus !== "RUNNING") throw new Error(`bench query ended ${QueryStatus}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function load(
  clients: CloudTrailClient[],
  callsPerClient: number,
  call: (client: CloudTrailClient) => Promise<unknown>,
): Promise<number> {
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      for (let i = 0; i < callsPerClient; i++) await call(client);
    }),
  );
  return (performance.now() - started) / 1000;
}

export async function benchSelfAudit(callsPerClient = 2000, clientCounts = [1, 4, 16]): Promise<SelfAuditBench> {
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-bench-self-audit-"));
  const server = await startBenchServer(dataDir);
  const newClient = (): CloudTrailClient =>
    new CloudTrailClient({
      endpoint: server.url,
      region: BENCH_REGION,
      credentials: { accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET },
      maxAttempts: 1,
    });
  try {
    await seed(server.url, 1000);
    const queryId = await finishedQuery(newClient());
    const operations: Record<SelfAuditFigure["operation"], (client: CloudTrailClient) => Promise<unknown>> = {
      DescribeQuery: (client: CloudTrailClient) => client.send(new DescribeQueryCommand({ QueryId: queryId })),
      LookupEvents: (client: CloudTrailClient) => client.send(new LookupEventsCommand({ MaxResults: 50 })),
    };
    const figures: SelfAuditFigure[] = [];
    for (const [operation, call] of Object.entries(operations) as Array<
      [SelfAuditFigure["operation"], (client: CloudTrailClient) => Promise<unknown>]
    >) {
      for (const count of clientCounts) {
        const clients = Array.from({ length: count }, newClient);
        // One warm-up call each: connections and the first statements are not part of the figure.
        await Promise.all(clients.map(call));
        const cpuBefore = cpuSecondsOf(server.pid);
        const { result: seconds, fsyncs } = await countingFsyncs(server.pid, () =>
          load(clients, Math.ceil(callsPerClient / count), call),
        );
        const calls = Math.ceil(callsPerClient / count) * count;
        figures.push({
          operation,
          clients: count,
          calls,
          callsPerSec: Math.round(calls / seconds),
          fsyncsPerCall: fsyncs === null ? null : Number(((fsyncs.journal + fsyncs.other) / calls).toFixed(3)),
          journalFsyncsPerCall: fsyncs === null ? null : Number((fsyncs.journal / calls).toFixed(3)),
          serverCpuMicrosPerCall: Math.round(((cpuSecondsOf(server.pid) - cpuBefore) * 1e6) / calls),
        });
        for (const client of clients) client.destroy();
      }
    }
    return { name: "self-audit", figures };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function printSelfAuditBench(result: SelfAuditBench): void {
  const single = new Map(result.figures.filter((f) => f.clients === 1).map((f) => [f.operation, f.callsPerSec]));
  console.log("\nRead-only API calls, each journaled durably before its answer (group commit across clients)");
  console.table(
    result.figures.map((f) => ({
      operation: f.operation,
      clients: f.clients,
      "calls/s": f.callsPerSec,
      "vs 1 client (one fsync per call)": `${(f.callsPerSec / (single.get(f.operation) ?? NaN)).toFixed(2)}x`,
      "fsyncs per call": f.fsyncsPerCall ?? "strace absent",
      "of which the journal's": f.journalFsyncsPerCall ?? "-",
      "server CPU µs/call": f.serverCpuMicrosPerCall,
    })),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [callsArg, countsArg] = process.argv.slice(2);
  const result = await benchSelfAudit(
    Number(callsArg) || undefined,
    countsArg === undefined ? undefined : countsArg.split(",").map(Number),
  );
  printSelfAuditBench(result);
  const file = writeBenchResults("self-audit", result);
  console.log(JSON.stringify(result, null, 2));
  console.error(`written: ${file}`);
}
