import { spawn, type ChildProcess } from "node:child_process";
import { CLI, TEST_ACCOUNT_ID } from "../helpers/server-process.js";

/** A real `cairn proxy` child process on 127.0.0.1 and a free port. */
export interface ProxyProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

export async function startProxyProcess(options: {
  upstream: string;
  server: string;
  dataDir: string;
  args?: string[];
  /** Added to the proxy's environment (e.g. CAIRN_PROXY_TLS_CERT / CAIRN_PROXY_TLS_KEY). */
  env?: Record<string, string>;
}): Promise<ProxyProcess> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      "proxy",
      "--upstream",
      options.upstream,
      "--port",
      "0",
      "--server",
      options.server,
      "--data-dir",
      options.dataDir,
      ...(options.args ?? []),
    ],
    {
      // No AWS_* keys: the proxy signs its ingest calls with the data dir's admin credentials.
      env: {
        PATH: process.env["PATH"] ?? "",
        HOME: process.env["HOME"] ?? "/tmp",
        CAIRN_ACCOUNT_ID: TEST_ACCOUNT_ID,
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Proxy did not start within 30 s. Output:\n${output}`)), 30_000);
    const check = (): void => {
      const match = /listening on (https?:\/\/[^\s]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Proxy exited with ${code} before listening. Output:\n${output}`));
    });
  });
  return {
    url,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

/** Every record in the server's journal, read with `cairn tail --json` (data events are not in Event history). */
export async function journalRecords(serverUrl: string, dataDir: string): Promise<Record<string, unknown>[]> {
  const child = spawn(
    process.execPath,
    [CLI, "tail", "--json", "--from-seq", "1", "--endpoint-url", serverUrl, "--data-dir", dataDir],
    {
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // tail follows forever; the replay of what is stored arrives at once.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  child.kill("SIGTERM");
  await exited;
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
