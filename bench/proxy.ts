import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { S3Client, CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { NativeSha256 } from "../src/auth/sigv4-verify.js";
import { BENCH_ACCESS_KEY_ID, BENCH_SECRET, CLI, startBenchServer } from "./server-process.js";

/**
 * Capture proxy overhead (issue 4): a small signed call (S3 HeadObject) and a large object download
 * (S3 GetObject), each direct to moto_server and through a real `cairn proxy` process recording into
 * a real `cairn server`. Goal: ≤ 1 ms p50 added, ≥ 80% of direct throughput. Skipped (with a note)
 * when moto_server is not installed. Memory: the proxy's RSS (from /proc) sampled every 50 ms while a
 * 1 GB PutObject and a 1 GB GetObject stream through it; their upstream is a small in-process S3
 * stand-in that discards uploads and generates downloads (moto keeps objects in memory, which a
 * 1 GB object would dwarf the measurement with). Usage:
 * node dist/bench/proxy.js [calls=2000] [objectMB=50] [streamMB=1024]
 */
export interface ProxyBench {
  readonly name: "proxy";
  readonly skipped?: string;
  readonly calls: number;
  readonly small: { direct: LatencyFigures; proxied: LatencyFigures; addedP50Ms: number; addedP99Ms: number };
  readonly large: { objectMB: number; directMBps: number; proxiedMBps: number; ratio: number };
  readonly memory?: MemoryFigures;
}

interface MemoryFigures {
  readonly streamMB: number;
  readonly upstream: string;
  readonly rssBeforeMB: number;
  readonly rssMaxPutMB: number;
  readonly rssMaxGetMB: number;
  /** Largest RSS seen during either transfer, minus the RSS before them. */
  readonly rssGrowthMB: number;
  readonly putMBps: number;
  readonly getMBps: number;
}

interface LatencyFigures {
  readonly requestsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const REGION = "us-east-1";

interface Child {
  readonly pid: number;
  stop(): Promise<void>;
  readonly output: () => string;
}

async function startChild(command: string, args: string[], ready: RegExp | string): Promise<Child> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
  };
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start:\n${output}`)), 30_000);
    const check = (chunk: Buffer): void => {
      output += chunk.toString();
      if (typeof ready === "string" ? output.includes(ready) : ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", check);
    child.stderr!.on("data", check);
    child.once("exit", (code) => reject(new Error(`${command} exited ${code}:\n${output}`)));
  });
  return { pid: child.pid ?? 0, stop, output: () => output };
}

/**
 * One HeadObject per call, signed once (moto does not check signatures; the proxy only reads the
 * scope), direct and through the proxy in turn (the order alternating), so that both see the same
 * machine: on a shared machine the load moves between two back-to-back runs by more than the
 * difference being measured. requests/s is calls over the time spent in that target's calls.
 */
async function measureSmall(
  directUrl: string,
  proxyUrl: string,
  headers: Record<string, string>,
  calls: number,
): Promise<{ direct: LatencyFigures; proxied: LatencyFigures }> {
  const once = async (url: string): Promise<number> => {
    const t0 = performance.now();
    const response = await fetch(`${url}/bench/small`, { method: "HEAD", headers });
    await response.arrayBuffer();
    return performance.now() - t0;
  };
  for (let i = 0; i < 100; i++) {
    await once(directUrl);
    await once(proxyUrl);
  }
  const direct: number[] = [];
  const proxied: number[] = [];
  for (let i = 0; i < calls; i++) {
    if (i % 2 === 0) {
      direct.push(await once(directUrl));
      proxied.push(await once(proxyUrl));
    } else {
      proxied.push(await once(proxyUrl));
      direct.push(await once(directUrl));
    }
  }
  return { direct: figuresOf(direct), proxied: figuresOf(proxied) };
}

function figuresOf(latencies: number[]): LatencyFigures {
  const seconds = latencies.reduce((sum, ms) => sum + ms, 0) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number): number =>
    Number(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(3));
  return { requestsPerSec: Math.round(latencies.length / seconds), p50Ms: at(0.5), p99Ms: at(0.99) };
}

async function measureLarge(url: string, headers: Record<string, string>, bytes: number): Promise<number> {
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    const response = await fetch(`${url}/bench/large`, { headers });
    let received = 0;
    for await (const chunk of response.body!) received += (chunk as Uint8Array).length;
    if (received !== bytes) throw new Error(`got ${received} of ${bytes} bytes`);
    best = Math.max(best, bytes / 1e6 / ((performance.now() - started) / 1000));
  }
  return Number(best.toFixed(1));
}

function rssMB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match === null ? 0 : Number(match[1]) / 1024;
}

/** An S3 stand-in that discards PUT bodies and answers GETs with `bytes` generated bytes. */
async function startSinkUpstream(bytes: number): Promise<{ url: string; close(): Promise<void> }> {
  const chunk = Buffer.alloc(1024 * 1024, 7);
  const server = createServer((request, response) => {
    if (request.method === "PUT") {
      request.resume();
      request.once("end", () => {
        response.writeHead(200, { "x-amz-request-id": "SINK", etag: '"sink"', "content-length": "0" });
        response.end();
      });
      return;
    }
    response.writeHead(200, { "x-amz-request-id": "SINK", "content-length": String(bytes) });
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes) {
        const part = sent + chunk.length <= bytes ? chunk : chunk.subarray(0, bytes - sent);
        sent += part.length;
        if (!response.write(part)) {
          response.once("drain", pump);
          return;
        }
      }
      response.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One streamed request through the proxy: PUT `bytes` generated bytes, or GET and count them. */
function streamOnce(proxyUrl: string, method: "PUT" | "GET", bytes: number, authorization: string): Promise<number> {
  const url = new URL(`${proxyUrl}/bench/stream-${method.toLowerCase()}`);
  const chunk = Buffer.alloc(1024 * 1024, 9);
  return new Promise<number>((resolve, reject) => {
    const started = performance.now();
    const headers: Record<string, string> = { authorization, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" };
    if (method === "PUT") headers["content-length"] = String(bytes);
    const outgoing = httpRequest(url, { method, headers }, (answer: IncomingMessage) => {
      let received = 0;
      answer.on("data", (part: Buffer) => (received += part.length));
      answer.once("end", () => {
        if (method === "GET" && received !== bytes) reject(new Error(`got ${received} of ${bytes} bytes`));
        else resolve(bytes / 1e6 / ((performance.now() - started) / 1000));
      });
    });
    outgoing.once("error", reject);
    if (method === "GET") {
      outgoing.end();
      return;
    }
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes) {
        const part = sent + chunk.length <= bytes ? chunk : chunk.subarray(0, bytes - sent);
        sent += part.length;
        if (!outgoing.write(part)) {
          outgoing.once("drain", pump);
          return;
        }
      }
      outgoing.end();
    };
    pump();
  });
}

/** RSS of the proxy process while `streamMB` goes up and then down through it. */
async function measureMemory(
  start: (upstream: string) => Promise<Child & { url: string }>,
  streamMB: number,
): Promise<MemoryFigures> {
  const bytes = streamMB * 1024 * 1024;
  const sink = await startSinkUpstream(bytes);
  const proxy = await start(sink.url);
  try {
    const authorization = `AWS4-HMAC-SHA256 Credential=${BENCH_ACCESS_KEY_ID}/20260101/${REGION}/s3/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}`;
    // A few small calls first, so the baseline includes the proxy's warmed-up heap.
    for (let i = 0; i < 3; i++) await streamOnce(proxy.url, "GET", 0, authorization).catch(() => 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rssBeforeMB = rssMB(proxy.pid);
    const during = async (method: "PUT" | "GET"): Promise<[number, number]> => {
      let max = rssMB(proxy.pid);
      const timer = setInterval(() => (max = Math.max(max, rssMB(proxy.pid))), 50);
      try {
        const mbps = await streamOnce(proxy.url, method, bytes, authorization);
        return [max, mbps];
      } finally {
        clearInterval(timer);
      }
    };
    const [rssMaxPutMB, putMBps] = await during("PUT");
    const [rssMaxGetMB, getMBps] = await during("GET");
    const round = (value: number): number => Number(value.toFixed(1));
    return {
      streamMB,
      upstream: "in-process S3 stand-in (discards uploads, generates downloads)",
      rssBeforeMB: round(rssBeforeMB),
      rssMaxPutMB: round(rssMaxPutMB),
      rssMaxGetMB: round(rssMaxGetMB),
      rssGrowthMB: round(Math.max(rssMaxPutMB, rssMaxGetMB) - rssBeforeMB),
      putMBps: round(putMBps),
      getMBps: round(getMBps),
    };
  } finally {
    await proxy.stop();
    await sink.close();
  }
}

export async function benchProxy(calls = 2000, objectMB = 50, streamMB = 1024): Promise<ProxyBench> {
  const empty = { calls, small: { direct: zero(), proxied: zero(), addedP50Ms: 0, addedP99Ms: 0 } };
  const large = { objectMB, directMBps: 0, proxiedMBps: 0, ratio: 0 };
  const probe = spawn("moto_server", ["--help"], { stdio: "ignore" });
  const present = await new Promise<boolean>((resolve) => {
    probe.once("error", () => resolve(false));
    probe.once("exit", (code) => resolve(code === 0));
  });
  if (!present) return { name: "proxy", skipped: "moto_server not installed", ...empty, large };

  const dataDir = mkdtempSync(join(tmpdir(), "cairn-bench-proxy-"));
  const motoPort = 20_000 + Math.floor(Math.random() * 20_000);
  const moto = `http://127.0.0.1:${motoPort}`;
  const stops: (() => Promise<void>)[] = [];
  try {
    const motoChild = await startChild("moto_server", ["-H", "127.0.0.1", "-p", String(motoPort)], "Running on");
    stops.push(() => motoChild.stop());
    const server = await startBenchServer(dataDir);
    stops.push(() => server.stop());
    // CAIRN_BENCH_PROXY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the proxy under this load.
    const nodeArgs = (process.env["CAIRN_BENCH_PROXY_NODE_ARGS"] ?? "").split(" ").filter((arg) => arg !== "");
    const startProxyChild = async (upstream: string): Promise<Child & { url: string }> => {
      const args = [...nodeArgs, CLI, "proxy", "--upstream", upstream, "--port", "0", "--server", server.url];
      const child = await startChild(process.execPath, [...args, "--data-dir", dataDir], /listening on http:\/\/\S+ /);
      return { ...child, url: /listening on (http:\/\/\S+)/.exec(child.output())![1]! };
    };
    const proxy = await startProxyChild(moto);
    stops.push(() => proxy.stop());
    const proxyUrl = proxy.url;

    const credentials = { accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET };
    const s3 = new S3Client({ endpoint: moto, region: REGION, forcePathStyle: true, credentials });
    await s3.send(new CreateBucketCommand({ Bucket: "bench" }));
    await s3.send(new PutObjectCommand({ Bucket: "bench", Key: "small", Body: "x" }));
    const objectBytes = objectMB * 1024 * 1024;
    await s3.send(new PutObjectCommand({ Bucket: "bench", Key: "large", Body: Buffer.alloc(objectBytes, 7) }));
    s3.destroy();

    const signer = new SignatureV4({ credentials, region: REGION, service: "s3", sha256: NativeSha256 });
    const signed = await signer.sign({
      method: "HEAD",
      protocol: "http:",
      hostname: "127.0.0.1",
      path: "/bench/small",
      headers: { host: "127.0.0.1", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    });
    const headers = Object.fromEntries(Object.entries(signed.headers).filter(([name]) => name !== "host"));
    const { direct, proxied } = await measureSmall(moto, proxyUrl, headers, calls);
    const directMBps = await measureLarge(moto, headers, objectBytes);
    const proxiedMBps = await measureLarge(proxyUrl, headers, objectBytes);
    await proxy.stop();
    const memory = streamMB > 0 ? await measureMemory(startProxyChild, streamMB) : undefined;
    return {
      name: "proxy",
      calls,
      small: {
        direct,
        proxied,
        addedP50Ms: Number((proxied.p50Ms - direct.p50Ms).toFixed(3)),
        addedP99Ms: Number((proxied.p99Ms - direct.p99Ms).toFixed(3)),
      },
      large: { objectMB, directMBps, proxiedMBps, ratio: Number((proxiedMBps / directMBps).toFixed(3)) },
      ...(memory === undefined ? {} : { memory }),
    };
  } finally {
    for (const stop of stops.reverse()) await stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function signedMs(ms: number): string {
  return `${ms >= 0 ? "+" : ""}${ms} ms`;
}

function zero(): LatencyFigures {
  return { requestsPerSec: 0, p50Ms: 0, p99Ms: 0 };
}

export function printProxyBench(result: ProxyBench): void {
  if (result.skipped !== undefined) {
    console.log(`\nCapture proxy: skipped (${result.skipped})`);
    return;
  }
  const { small, large } = result;
  console.log(
    `\nCapture proxy overhead (S3 HeadObject ×${result.calls} each way, one client, direct and proxied in turn; ${large.objectMB} MB GetObject)`,
  );
  console.table([
    {
      figure: "requests/s",
      direct: small.direct.requestsPerSec,
      "via cairn proxy": small.proxied.requestsPerSec,
      ratio: (small.proxied.requestsPerSec / small.direct.requestsPerSec).toFixed(2),
    },
    {
      figure: "p50 ms",
      direct: small.direct.p50Ms,
      "via cairn proxy": small.proxied.p50Ms,
      ratio: signedMs(small.addedP50Ms),
    },
    {
      figure: "p99 ms",
      direct: small.direct.p99Ms,
      "via cairn proxy": small.proxied.p99Ms,
      ratio: signedMs(small.addedP99Ms),
    },
    {
      figure: "large object MB/s",
      direct: large.directMBps,
      "via cairn proxy": large.proxiedMBps,
      ratio: large.ratio.toFixed(2),
    },
  ]);
  if (result.memory !== undefined) {
    const memory = result.memory;
    console.log(
      `Proxy RSS while streaming ${memory.streamMB} MB (upstream: ${memory.upstream}): ` +
        `${memory.rssBeforeMB} MB before, max ${memory.rssMaxPutMB} MB during PutObject (${memory.putMBps} MB/s), ` +
        `max ${memory.rssMaxGetMB} MB during GetObject (${memory.getMBps} MB/s): growth ${memory.rssGrowthMB} MB`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [calls, objectMB, streamMB] = process.argv.slice(2).map(Number);
  const result = await benchProxy(calls || undefined, objectMB || undefined, streamMB ?? undefined);
  printProxyBench(result);
  console.log(JSON.stringify(result, null, 2));
}
