import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { CLI, makeDataDir, removeDataDir, startServerProcess } from "../helpers/server-process.js";

const execFileAsync = promisify(execFile);
const MASTER_KEY = "B".repeat(43) + "=";
const PASSWORD = "pg-password-never-printed";
const DATABASE_URL = `postgres://cairn:${PASSWORD}@127.0.0.1:9/cairn`;

/** `cairn server` expected to refuse at start: its exit code and stderr (the environment is only `env`). */
async function refusedStart(dataDir: string, env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  try {
    await execFileAsync(process.execPath, [CLI, "server", "--port", "0", "--s3-port", "0", "--data-dir", dataDir], {
      env: { PATH: process.env["PATH"] ?? "", ...env },
      timeout: 60_000,
    });
  } catch (error) {
    const failure = error as { code?: number; stderr?: string };
    return { code: failure.code ?? -1, stderr: failure.stderr ?? "" };
  }
  assert.fail("the server started");
}

describe("cluster-mode settings, through real `cairn server` processes", () => {
  const dataDirs: string[] = [];
  const freshDataDir = () => {
    const dir = makeDataDir("cairn-cluster-settings-");
    dataDirs.push(dir);
    return join(dir, "data");
  };
  after(() => dataDirs.forEach(removeDataDir));

  it("refuses a partial combination with exit code 2 and one line naming every missing piece", async () => {
    const dataDir = freshDataDir();
    const { code, stderr } = await refusedStart(dataDir, { CAIRN_DATABASE_URL: DATABASE_URL });
    assert.equal(code, 2, stderr);
    assert.equal(
      stderr,
      "Error: cluster mode needs CAIRN_DATABASE_URL, CAIRN_JOURNAL_URL, CAIRN_S3_ENDPOINT and an explicit master key together; " +
        "missing: CAIRN_JOURNAL_URL, CAIRN_S3_ENDPOINT, CAIRN_MASTER_KEY or CAIRN_MASTER_KEY_FILE (docs/reference/cluster.md). " +
        "Unset CAIRN_DATABASE_URL and CAIRN_JOURNAL_URL for the embedded server.\n",
    );
    assert.ok(!existsSync(dataDir), "nothing was created: no generated master key, no embedded store");

    const journalOnly = await refusedStart(dataDir, {
      CAIRN_JOURNAL_URL: "nats://127.0.0.1:9",
      CAIRN_S3_ENDPOINT: "http://127.0.0.1:9",
      CAIRN_ACCOUNT_ID: "12",
    });
    assert.equal(journalOnly.code, 2);
    const lines = journalOnly.stderr.trimEnd().split("\n");
    assert.deepEqual(lines[0], 'Error: CAIRN_ACCOUNT_ID: must be 12 digits (got "12")', "other problems listed too");
    assert.match(lines[1]!, /missing: CAIRN_DATABASE_URL, CAIRN_MASTER_KEY or CAIRN_MASTER_KEY_FILE \(/);
    assert.equal(lines.length, 2);
  });

  it("fails to start when the database cannot be reached, never printing its password", async () => {
    const dataDir = freshDataDir();
    const { code, stderr } = await refusedStart(dataDir, {
      CAIRN_DATABASE_URL: DATABASE_URL,
      CAIRN_JOURNAL_URL: "nats://127.0.0.1:9",
      CAIRN_S3_ENDPOINT: "http://127.0.0.1:9",
      CAIRN_MASTER_KEY: MASTER_KEY,
    });
    assert.equal(code, 1, stderr);
    assert.match(stderr, /^Error: /);
    assert.ok(!stderr.includes(PASSWORD), stderr);
    assert.ok(!existsSync(join(dataDir, "journal")), "no embedded store was opened instead");
  });

  it("leaves an embedded server with CAIRN_S3_ENDPOINT and the cluster-only settings as it was", async () => {
    const server = await startServerProcess({
      dataDir: freshDataDir(),
      env: {
        CAIRN_S3_ENDPOINT: "http://127.0.0.1:9",
        CAIRN_JOURNAL_STREAM: "unused",
        CAIRN_LAKE_BUCKET: "unused-lake",
      },
    });
    try {
      const health = await fetch(`${server.url}/health`);
      assert.equal(health.status, 200, await health.text());
      assert.ok(existsSync(join(server.dataDir, "journal")), "the embedded journal is under the data dir");
      assert.ok(existsSync(join(server.dataDir, "master.key")), "and the generated master key");
    } finally {
      await server.stop();
    }
  });
});
