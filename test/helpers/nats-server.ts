import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { ownChild } from "./owned-children.js";
import { pollUntil } from "./poll.js";
import { freePort } from "../storage/moto-server.js";

/**
 * Private `nats-server -js` instances for a test file: 127.0.0.1, free ports, a temp store dir per
 * node, owned by the test process (test/helpers/owned-children.ts) so none outlives it.
 */
export interface NatsServer {
  /** `nats://127.0.0.1:<port>` of each node; one entry for a single server. */
  readonly urls: readonly string[];
  /** The comma-separated form `CAIRN_JOURNAL_URL` takes. */
  readonly url: string;
  /** Each node's server name (`-n`), in the order of `urls`; a single server has none of its own. */
  readonly names: readonly string[];
  /**
   * Ends one node (by server name) for fault tests, by default with kill -9 (SIGTERM: a clean stop);
   * resolves once it exited.
   */
  kill(name: string, which?: NodeJS.Signals): Promise<void>;
  /** Stops one node (SIGTERM), runs `whileDown`, and starts it again with the same port, name and store. */
  restart(name: string, options?: { whileDown?: () => Promise<void> }): Promise<void>;
  /** SIGSTOP of one node: its sockets stay open and nothing answers (resume() sends SIGCONT). */
  pause(name: string): void;
  resume(name: string): void;
  stop(): Promise<void>;
}

const NATS_SERVER = "nats-server";

/** nats-server comes from Debian (`.ci/run`), not from a registry: tests that need it skip loudly without it. */
export function natsServerMissingReason(): string | false {
  const probe = spawnSync(NATS_SERVER, ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    const reason = "SKIPPED LOUDLY: nats-server not installed; the JetStream journal needs a real server.";
    process.stderr.write(`\n*** ${reason} ***\n\n`);
    return reason;
  }
  return false;
}

interface Node {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
}

function spawnNode(args: readonly string[], url: string, name: string): Node {
  const child = ownChild(spawn(NATS_SERVER, [...args], { stdio: ["ignore", "pipe", "pipe"] }));
  let output = "";
  const keep = (chunk: Buffer): void => {
    // The log is only for a failure message: keep its tail.
    output = (output + chunk.toString()).slice(-8_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  return { name, child, url, output: () => output };
}

/** Ready means JetStream answers, which in a cluster needs an elected meta leader, not just an open port. */
async function waitForJetStream(nodes: readonly Node[]): Promise<void> {
  for (const node of nodes) {
    await pollUntil(
      async () => {
        if (node.child.exitCode !== null) throw new Error(`nats-server exited early:\n${node.output()}`);
        try {
          const nc = await connect({ servers: node.url, reconnect: false, timeout: 1_000 });
          try {
            await (await jetstreamManager(nc, { timeout: 1_000 })).getAccountInfo();
            return true;
          } finally {
            await nc.close();
          }
        } catch {
          return false;
        }
      },
      {
        timeoutMs: 30_000,
        intervalMs: 100,
        message: () => `nats-server ${node.url} to serve JetStream:\n${node.output()}`,
      },
    );
  }
}

async function stopNode(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGCONT");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

async function startNodes(
  specs: ReadonlyArray<{ args: string[]; url: string; name: string }>,
  dirs: string[],
): Promise<NatsServer> {
  // Replaced in place when a node is restarted, so stop() ends the running process.
  const nodes = specs.map((spec) => spawnNode(spec.args, spec.url, spec.name));
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => stopNode(node.child)));
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  };
  try {
    await waitForJetStream(nodes);
  } catch (error) {
    await stop();
    throw error;
  }
  const urls = nodes.map((node) => node.url);
  const indexOf = (name: string): number => {
    const index = nodes.findIndex((candidate) => candidate.name === name);
    if (index < 0) throw new Error(`No nats-server node named ${name}.`);
    return index;
  };
  const restart = async (name: string, { whileDown }: { whileDown?: () => Promise<void> } = {}): Promise<void> => {
    const index = indexOf(name);
    await stopNode(nodes[index]!.child);
    await whileDown?.();
    const spec = specs[index]!;
    nodes[index] = spawnNode(spec.args, spec.url, spec.name);
    await waitForJetStream([nodes[index]!]);
  };
  const signal = (name: string, which: NodeJS.Signals): void => void nodes[indexOf(name)]!.child.kill(which);
  const kill = async (name: string, which: NodeJS.Signals = "SIGKILL"): Promise<void> => {
    const node = nodes[indexOf(name)]!;
    if (node.child.exitCode !== null || node.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => node.child.once("exit", () => resolve()));
    node.child.kill(which);
    await exited;
  };
  return {
    ...{ urls, url: urls.join(","), names: nodes.map((node) => node.name), kill, restart, stop },
    pause: (name) => signal(name, "SIGSTOP"),
    resume: (name) => signal(name, "SIGCONT"),
  };
}

/** One JetStream server. */
export async function startNatsServer(): Promise<NatsServer> {
  const dir = await mkdtemp(join(tmpdir(), "cairn-nats-"));
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const name = `cairn-test-${port}`;
  return startNodes(
    [{ args: ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir, "-n", name], url, name }],
    [dir],
  );
}

/** A JetStream cluster of `size` nodes (default 3, for R3 streams), each with its own store dir and server name. */
export async function startNatsCluster(size = 3): Promise<NatsServer> {
  const clientPorts: number[] = [];
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) {
    clientPorts.push(await freePort());
    routePorts.push(await freePort());
  }
  const dirs = await Promise.all(clientPorts.map(() => mkdtemp(join(tmpdir(), "cairn-nats-"))));
  const routes = routePorts.map((port) => `nats-route://127.0.0.1:${port}`).join(",");
  const specs = clientPorts.map((port, i) => ({
    url: `nats://127.0.0.1:${port}`,
    name: `cairn-test-${i + 1}`,
    args: [
      "-js",
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
      "-sd",
      dirs[i]!,
      "-n",
      `cairn-test-${i + 1}`,
      "--cluster_name",
      "cairn-test",
      "--cluster",
      `nats://127.0.0.1:${routePorts[i]}`,
      "--routes",
      routes,
    ],
  }));
  return startNodes(specs, dirs);
}
