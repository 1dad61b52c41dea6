import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dirname, "../../..");
export const CLI = join(REPO_ROOT, "bin/cairn.js");
export const TEST_ACCOUNT_ID = "111122223333";
export const TEST_ACCESS_KEY_ID = "AKIACAIRNTESTADMIN01";
export const TEST_SECRET_ACCESS_KEY = "cairn/test/secret/key/0000000000000000000";

/** A real `cairn server` child process on 127.0.0.1 with a fresh (or given) data directory. */
export interface ServerProcess {
  readonly url: string;
  /** The read-only S3 endpoint over the embedded trail buckets (absent with an external S3). */
  readonly s3Url: string | undefined;
  readonly dataDir: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

export function makeDataDir(prefix = "cairn-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDataDir(dataDir: string): void {
  rmSync(dataDir, { recursive: true, force: true });
}

export async function startServerProcess(
  options: { dataDir?: string; env?: Record<string, string>; args?: string[] } = {},
): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? makeDataDir();
  const child = spawn(
    process.execPath,
    [CLI, "server", "--port", "0", "--s3-port", "0", "--data-dir", dataDir, ...(options.args ?? [])],
    {
      env: {
        ...process.env,
        CAIRN_HOST: "127.0.0.1",
        CAIRN_ACCOUNT_ID: TEST_ACCOUNT_ID,
        CAIRN_REGION: "us-east-1",
        CAIRN_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
        CAIRN_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`Server did not start within 30 s. Output:\n${output}`)), 30_000);
    const check = (): void => {
      const match = /listening on (http:\/\/[^\s]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Server exited with ${code} before listening. Output:\n${output}`));
    });
  });
  return {
    url,
    s3Url: /read-only S3 endpoint (http:\/\/[^\s)]+)/.exec(output)?.[1],
    dataDir,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}
