import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { ownChild } from "../helpers/owned-children.js";
import { createServer } from "node:net";
import { pollUntil } from "../helpers/poll.js";

/** A real `moto_server` (S3 emulator from the machine image) on 127.0.0.1 and a free port. */
export interface MotoServer {
  readonly endpoint: string;
  /** Sends a signal to the moto process: SIGSTOP makes a hung endpoint (connections accepted, no answer), SIGCONT ends it. */
  signal(name: NodeJS.Signals): void;
  stop(): Promise<void>;
}

/** moto comes with the machine image, not from a registry: tests that need it skip loudly without it. */
export function motoMissingReason(): string | false {
  const probe = spawnSync("moto_server", ["--help"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    const reason = "SKIPPED LOUDLY: moto_server not installed; the S3 object store contract needs a real S3 endpoint.";
    process.stderr.write(`\n*** ${reason} ***\n\n`);
    return reason;
  }
  return false;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startMotoServer(): Promise<MotoServer> {
  const port = await freePort();
  const child = ownChild(
    spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "pipe", "pipe"] }),
  );
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = (): Promise<void> => stopChild(child);
  try {
    await waitUntilServing(endpoint, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  const signal = (name: NodeJS.Signals): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
  };
  return { endpoint, signal, stop };
}

async function waitUntilServing(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  await pollUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`moto_server exited early:\n${output()}`);
      return fetch(`${endpoint}/moto-api/`).then(
        () => true,
        () => false,
      );
    },
    { timeoutMs: 30_000, intervalMs: 100, message: () => `moto_server to serve ${endpoint}:\n${output()}` },
  );
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // A stopped process (SIGSTOP) would hold SIGTERM until continued.
  child.kill("SIGCONT");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
