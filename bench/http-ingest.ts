import { spawn } from "node:child_process";
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { NativeSha256 } from "../src/api/protocol/sigv4-verify.js";
import { SignatureV4 } from "@smithy/signature-v4";
import { loadSamples, recordGenerator } from "./event-history-records.js";

/**
 * Durable ingest over HTTP: a real `cairn server` process, `clients` concurrent SigV4-signed
 * `POST /ingest` calls of `batch` records (~1.2 KB each, the shapes of the shared samples), each
 * answered only after fsync. Baseline: the cheapest durable write a user could script by hand,
 * the same records appended as NDJSON to one file with an fsync per batch (no validation, no
 * de-duplication, no index, no HTTP).
 * Usage: node dist/bench/http-ingest.js [events=200000] [clients=4] [batch=1000]
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
}

const CLI = resolve(import.meta.dirname, "../../bin/cairn.js");
const ACCESS_KEY_ID = "AKIABENCHADMIN000001";
const SECRET = "bench/secret/key/0000000000000000000000";

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

async function startServer(dataDir: string): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [CLI, "server", "--port", "0", "--data-dir", dataDir], {
    env: {
      ...process.env,
      CAIRN_ACCOUNT_ID: "123837392027",
      CAIRN_ACCESS_KEY_ID: ACCESS_KEY_ID,
      CAIRN_SECRET_ACCESS_KEY: SECRET,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolveUrl(match[1]!);
    });
    child.once("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise((done) => {
        child.once("exit", () => done());
        child.kill("SIGTERM");
      }),
  };
}

async function send(url: string, signer: SignatureV4, body: Buffer): Promise<void> {
  const target = new URL(url);
  const signed = await signer.sign({
    method: "POST",
    protocol: "http:",
    hostname: target.hostname,
    port: Number(target.port),
    path: "/ingest",
    headers: { host: target.host, "content-type": "application/json" },
    body,
  });
  const headers = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k !== "host")) as Record<
    string,
    string
  >;
  const response = await fetch(`${url}/ingest`, { method: "POST", headers, body });
  if (response.status !== 200) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
}

function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
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

export async function benchHttpIngest(events = 200_000, clients = 4, batch = 1000): Promise<HttpIngestBench> {
  const bodies = buildBodies(events, batch);
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-bench-ingest-"));
  const server = await startServer(dataDir);
  try {
    const signer = new SignatureV4({
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET },
      region: "us-east-1",
      service: "cloudtrail",
      sha256: NativeSha256,
    });
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < bodies.length) await send(server.url, signer, bodies[next++]!);
      }),
    );
    const eventsPerSec = events / ((performance.now() - started) / 1000);
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
