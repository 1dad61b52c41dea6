import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import type { ClusterEngines } from "./cluster-engines.js";
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from "./server-process.js";

/** Trail settings that make delivery and digests quick enough for a test to wait for. */
export const QUICK_DELIVERY = {
  CAIRN_S3_FORCE_PATH_STYLE: "true",
  CAIRN_DELIVERY_INTERVAL_SECONDS: "1",
  CAIRN_DIGEST_INTERVAL_SECONDS: "2",
};

/**
 * The `cairn server` nodes of one test file on the given engines, each with its own data dir.
 * `live` lists the nodes not stopped or killed; cleanup() stops them and removes every data dir.
 */
export class ClusterNodes {
  readonly live: ServerProcess[] = [];
  /** Nodes that exited without being stopped or killed here: each with the tail of its output. */
  readonly deaths: string[] = [];
  private readonly dirs: string[] = [];
  private readonly ended = new Set<ServerProcess>();

  constructor(
    private readonly engines: ClusterEngines,
    private readonly env: Record<string, string> = {},
  ) {}

  async start(nodeId: string, env: Record<string, string> = {}): Promise<ServerProcess> {
    const dir = makeDataDir(`cairn-${nodeId}-`);
    this.dirs.push(dir);
    const node = await startServerProcess({
      dataDir: join(dir, "node"),
      env: this.engines.nodeEnv(nodeId, { ...this.env, ...env }),
    });
    this.live.push(node);
    node.child.once("exit", (code, signal) => {
      if (this.ended.has(node)) return;
      this.deaths.push(`${nodeId} exited (${code ?? signal}) on its own:\n${node.output().slice(-4_000)}`);
      this.forget(node);
    });
    return node;
  }

  /**
   * Starts the nodes at once and waits for every start to end, so none is still starting when a
   * failure ends the test; rejects with the first failure.
   */
  async startAll(nodeIds: readonly string[], env: Record<string, string> = {}): Promise<ServerProcess[]> {
    const started = await Promise.allSettled(nodeIds.map((id) => this.start(id, env)));
    const failed = started.find((result): result is PromiseRejectedResult => result.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    return started.map((result) => (result as PromiseFulfilledResult<ServerProcess>).value);
  }

  /** kill -9 of one node; it leaves `live`. */
  async kill9(node: ServerProcess): Promise<void> {
    this.ended.add(node);
    await node.kill9();
    this.forget(node);
  }

  async stop(node: ServerProcess): Promise<void> {
    this.ended.add(node);
    await node.stop();
    this.forget(node);
  }

  /** Stops every live node and removes the data dirs; the output of any node that died on its own goes to stderr. */
  async cleanup(): Promise<void> {
    for (const death of this.deaths) process.stderr.write(`\n# ${death}\n`);
    await Promise.all(this.live.map((node) => this.stop(node)));
    this.live.length = 0;
    this.dirs.forEach(removeDataDir);
  }

  private forget(node: ServerProcess): void {
    const index = this.live.indexOf(node);
    if (index >= 0) this.live.splice(index, 1);
  }
}

/** An S3 client of the engines' moto. */
export function motoClient(engines: ClusterEngines): S3Client {
  return new S3Client({
    endpoint: engines.moto.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
}
