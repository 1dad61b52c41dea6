import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { SignatureV4 } from "@smithy/signature-v4";
import { NativeSha256 } from "../src/auth/sigv4-verify.js";
import { BENCH_ACCOUNT } from "./event-history-records.js";

/**
 * A real `cairn server` child process for the benchmarks (127.0.0.1, port 0, the bench account and a
 * fixed admin key), and the SigV4-signed `POST /ingest` call the HTTP benchmarks drive it with.
 */
export const CLI = resolve(import.meta.dirname, "../../bin/cairn.js");
export const BENCH_ACCESS_KEY_ID = "AKIABENCHADMIN000001";
export const BENCH_SECRET = "bench/secret/key/0000000000000000000000";
export const BENCH_REGION = "us-east-1";

export interface BenchServer {
  readonly url: string;
  /** The read-only S3 endpoint over the embedded buckets (`--s3-port 0`). */
  readonly s3Url: string | undefined;
  readonly pid: number;
  stop(): Promise<void>;
}

/** `nodeArgs` go before the script (`--cpu-prof`, which NODE_OPTIONS does not allow). */
export async function startBenchServer(
  dataDir: string,
  env: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
): Promise<BenchServer> {
  const child = spawn(
    process.execPath,
    [...nodeArgs, CLI, "server", "--host", "127.0.0.1", "--port", "0", "--s3-port", "0", "--data-dir", dataDir],
    {
      env: {
        ...process.env,
        CAIRN_ACCOUNT_ID: BENCH_ACCOUNT,
        CAIRN_REGION: BENCH_REGION,
        CAIRN_ACCESS_KEY_ID: BENCH_ACCESS_KEY_ID,
        CAIRN_SECRET_ACCESS_KEY: BENCH_SECRET,
        ...env,
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
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
    s3Url: /read-only S3 endpoint (http:\/\/[^\s)]+)/.exec(output)?.[1],
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

/** The admin key's signer; `service` and `region` are its scope (`events` for the EventBridge API). */
export function benchSigner(service = "cloudtrail", region = BENCH_REGION): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET },
    region,
    service,
    sha256: NativeSha256,
  });
}

/** One signed `POST /ingest`; resolves when the (durable) acknowledgement has arrived in full. */
export async function sendIngest(url: string, signer: SignatureV4, body: Buffer): Promise<void> {
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

export function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}
