import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnCairn, type CairnProcess } from "./cairn-process.js";
import { backendEnv, clusterS3Endpoint } from "./test-backend.js";

export { CLI } from "./cairn-process.js";
export const REPO_ROOT = resolve(import.meta.dirname, "../../..");
export const TEST_ACCOUNT_ID = "111122223333";
export const TEST_ACCESS_KEY_ID = "AKIACAIRNTESTADMIN01";
export const TEST_SECRET_ACCESS_KEY = "cairn/test/secret/key/0000000000000000000";

/**
 * A real `cairn server` child process on 127.0.0.1 with a fresh (or given) data directory, on the
 * backend CAIRN_TEST_BACKEND names (test-backend.ts).
 */
export interface ServerProcess extends CairnProcess {
  /**
   * The read-only S3 endpoint over the embedded trail buckets (absent with an external S3); with the
   * cluster backend, the S3 endpoint (moto) the trail buckets are on.
   */
  readonly s3Url: string | undefined;
  readonly dataDir: string;
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
  const cairn = await spawnCairn(
    "Server",
    ["server", "--port", "0", "--s3-port", "0", "--data-dir", dataDir, ...(options.args ?? [])],
    {
      ...process.env,
      CAIRN_HOST: "127.0.0.1",
      CAIRN_ACCOUNT_ID: TEST_ACCOUNT_ID,
      CAIRN_REGION: "us-east-1",
      CAIRN_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
      CAIRN_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
      ...(await backendEnv(dataDir)),
      ...options.env,
    },
  );
  return {
    ...cairn,
    s3Url: /read-only S3 endpoint (http:\/\/[^\s)]+)/.exec(cairn.output())?.[1] ?? clusterS3Endpoint(dataDir),
    dataDir,
  };
}
