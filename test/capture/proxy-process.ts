import { spawn } from "node:child_process";
import { CLI, TEST_ACCOUNT_ID } from "../helpers/server-process.js";
import { spawnCairn, type CairnProcess } from "../helpers/cairn-process.js";

/** A real `cairn proxy` child process on 127.0.0.1 and a free port. */
export type ProxyProcess = CairnProcess;

export function startProxyProcess(options: {
  upstream: string;
  server: string;
  dataDir: string;
  args?: string[];
  /** Added to the proxy's environment (e.g. CAIRN_PROXY_TLS_CERT / CAIRN_PROXY_TLS_KEY). */
  env?: Record<string, string>;
}): Promise<ProxyProcess> {
  const args = ["proxy", "--upstream", options.upstream, "--port", "0", "--server", options.server];
  return spawnCairn("Proxy", [...args, "--data-dir", options.dataDir, ...(options.args ?? [])], {
    // No AWS_* keys: the proxy signs its ingest calls with the data dir's admin credentials.
    PATH: process.env["PATH"] ?? "",
    HOME: process.env["HOME"] ?? "/tmp",
    CAIRN_ACCOUNT_ID: TEST_ACCOUNT_ID,
    ...options.env,
  });
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
