import { spawn } from "node:child_process";
import {
  CLI,
  removeDataDir,
  startServerProcess,
  TEST_ACCOUNT_ID,
  type ServerProcess,
} from "../helpers/server-process.js";
import { addPrincipal } from "../helpers/principals.js";
import { startMotoServer, type MotoServer } from "../storage/moto-server.js";
import { spawnCairn, type CairnProcess } from "../helpers/cairn-process.js";
import { pollUntil } from "../helpers/poll.js";
import { ownChild } from "../helpers/owned-children.js";
import { runAws } from "../helpers/aws-cli.js";
import { backendEnvOf } from "../helpers/test-backend.js";

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
    // A cluster node's callers are in its PostgreSQL: the proxy reads them with the node's settings.
    ...backendEnvOf(options.dataDir),
    ...options.env,
  });
}

/** Every record in the server's journal, read with `cairn tail --json` (data events are not in Event history). */
export async function journalRecords(
  serverUrl: string,
  dataDir: string,
  options: { withProvenance?: boolean; credentials?: { accessKeyId: string; secretAccessKey: string } } = {},
): Promise<Record<string, unknown>[]> {
  const { credentials } = options;
  // Another account's records are read with that account's keys (tail shows the caller's account).
  const keys =
    credentials === undefined
      ? {}
      : { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey };
  const child = ownChild(
    spawn(
      process.execPath,
      [
        CLI,
        "tail",
        "--json",
        ...(options.withProvenance === true ? ["--with-provenance"] : []),
        "--from-seq",
        "1",
        "--endpoint-url",
        serverUrl,
        "--data-dir",
        dataDir,
      ],
      {
        env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", ...keys },
        stdio: ["ignore", "pipe", "pipe"],
      },
    ),
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

/** A real server, moto_server and `cairn proxy` in front of moto, with a principal "alice" of the test account. */
export interface ProxyStack {
  readonly server: ServerProcess;
  readonly moto: MotoServer;
  readonly proxy: ProxyProcess;
  readonly keys: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

export async function startProxyStack(): Promise<ProxyStack> {
  const server = await startServerProcess();
  let moto: MotoServer | undefined;
  let proxy: ProxyProcess | undefined;
  const stop = async (): Promise<void> => {
    await proxy?.stop();
    await moto?.stop();
    await server.stop();
    removeDataDir(server.dataDir);
  };
  try {
    moto = await startMotoServer();
    const keys = await addPrincipal(server.dataDir, { name: "alice", accountId: TEST_ACCOUNT_ID });
    proxy = await startProxyProcess({ upstream: moto.endpoint, server: server.url, dataDir: server.dataDir });
    return { server, moto, proxy, keys, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The journal's records of `eventSource`/`eventName`, polled until there are `count` of them (the
 * proxy records after answering); rejects after 15 s, naming how many it found.
 */
export async function recordsNamed(
  server: { url: string; dataDir: string },
  eventSource: string,
  eventName: string,
  count = 1,
): Promise<Record<string, unknown>[]> {
  let found: Record<string, unknown>[] = [];
  return pollUntil(
    async () => {
      found = (await journalRecords(server.url, server.dataDir)).filter(
        (record) => record["eventSource"] === eventSource && record["eventName"] === eventName,
      );
      return found.length >= count && found;
    },
    // Each read already takes a while (journalRecords lets `tail` replay the journal): read again soon.
    {
      timeoutMs: 15_000,
      intervalMs: 10,
      message: () => `${count} ${eventSource} ${eventName} records in the journal; found ${found.length}`,
    },
  );
}

/**
 * The real AWS CLI through the stack's proxy, as `keys` (the stack's principal unless told) in
 * `region`; a failed command fails the test. Returns what the CLI printed.
 */
export async function awsViaProxy(
  stack: ProxyStack,
  args: string[],
  options: { keys?: { accessKeyId: string; secretAccessKey: string }; region?: string } = {},
): Promise<string> {
  const keys = options.keys ?? stack.keys;
  const result = await runAws(stack.server.dataDir, [...args, "--endpoint-url", stack.proxy.url], {
    AWS_ACCESS_KEY_ID: keys.accessKeyId,
    AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    AWS_DEFAULT_REGION: options.region ?? "us-east-1",
    AWS_MAX_ATTEMPTS: "1",
  });
  if (result.code !== 0) throw new Error(`aws ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** `awsViaProxy` with `--output json`, parsed; `{}` for the calls that print nothing (create-alias). */
export async function awsJsonViaProxy(
  stack: ProxyStack,
  args: string[],
  options: { keys?: { accessKeyId: string; secretAccessKey: string }; region?: string } = {},
): Promise<Record<string, unknown>> {
  const printed = await awsViaProxy(stack, [...args, "--output", "json"], options);
  return printed.trim() === "" ? {} : (JSON.parse(printed) as Record<string, unknown>);
}
