import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCommand } from "../helpers/aws-cli.js";
import { CLI, makeDataDir, removeDataDir } from "../helpers/server-process.js";

const PASSWORD = "s3cret-pw-never-shown";
/** Cluster settings pointing at ports nothing listens on: the refusals below happen before any is needed, or name the engine. */
const CLUSTER = {
  CAIRN_DATABASE_URL: `postgres://cairn:${PASSWORD}@127.0.0.1:1/cairn`,
  CAIRN_JOURNAL_URL: "nats://127.0.0.1:1",
  CAIRN_S3_ENDPOINT: "http://127.0.0.1:1",
  CAIRN_MASTER_KEY: randomBytes(32).toString("base64"),
};

function migrate(args: string[], env: Record<string, string>) {
  return runCommand(process.execPath, [CLI, "migrate", ...args], { PATH: process.env["PATH"] ?? "", ...env });
}

/** One `Error: …` line on stderr, nothing on stdout, no stack trace, no password. */
function assertOneLine(result: { stdout: string; stderr: string }, pattern: RegExp): void {
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^Error: [^\n]*\n$/, `one line:\n${result.stderr}`);
  assert.match(result.stderr, pattern);
  assert.doesNotMatch(result.stderr, new RegExp(PASSWORD));
}

describe("cairn migrate: refusals", () => {
  const dirs: string[] = [];
  after(() => dirs.forEach(removeDataDir));

  it("is a usage error (2) without --to-cluster, without the cluster's settings, or with part of them", async () => {
    const dir = makeDataDir("cairn-migrate-usage-");
    dirs.push(dir);
    const target = await migrate(["--data-dir", dir], CLUSTER);
    assert.equal(target.code, 2);
    assertOneLine(target, /--to-cluster/);
    const none = await migrate(["--to-cluster", "--data-dir", dir], {});
    assert.equal(none.code, 2);
    assertOneLine(none, /needs the cluster's settings: CAIRN_DATABASE_URL/);
    const part = await migrate(["--to-cluster", "--data-dir", dir], { CAIRN_DATABASE_URL: CLUSTER.CAIRN_DATABASE_URL });
    assert.equal(part.code, 2);
    assertOneLine(part, /missing: CAIRN_JOURNAL_URL, CAIRN_S3_ENDPOINT, CAIRN_MASTER_KEY or CAIRN_MASTER_KEY_FILE/);
  });

  it("fails (1) in one line for a directory that is no data dir, and for a cluster it cannot reach", async () => {
    const dir = makeDataDir("cairn-migrate-fail-");
    dirs.push(dir);
    const notData = await migrate(["--to-cluster", "--data-dir", dir], CLUSTER);
    assert.equal(notData.code, 1);
    assertOneLine(notData, /is not a Cairn data directory/);
    mkdirSync(join(dir, "journal"));
    const unreachable = await migrate(["--to-cluster", "--data-dir", dir], CLUSTER);
    assert.equal(unreachable.code, 1);
    assertOneLine(unreachable, /could not open the cluster: PostgreSQL at postgres:\/\/cairn@127\.0\.0\.1:1\/cairn/);
  });

  it("opens the data dir's secrets with --source-master-key-file when neither its master.key nor the cluster's key does", async () => {
    const dir = makeDataDir("cairn-migrate-key-");
    dirs.push(dir);
    const keyFile = join(dir, "embedded.key");
    writeFileSync(keyFile, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
    const dataDir = join(dir, "data");
    mkdirSync(join(dataDir, "journal"), { recursive: true });
    const added = await runCommand(
      process.execPath,
      [CLI, "principal", "add", "--name", "sealed", "--data-dir", dataDir, "--account-id", "111122223333"],
      { PATH: process.env["PATH"] ?? "", CAIRN_MASTER_KEY_FILE: keyFile },
    );
    assert.equal(added.code, 0, added.stderr);
    const wrongKey = await migrate(["--to-cluster", "--data-dir", dataDir], CLUSTER);
    assert.equal(wrongKey.code, 1);
    assertOneLine(wrongKey, /opens its secrets: give the key its server used with --source-master-key-file/);
    // With its key the secrets open, and the run goes on to the cluster (unreachable here).
    const given = await migrate(["--to-cluster", "--data-dir", dataDir, "--source-master-key-file", keyFile], CLUSTER);
    assert.equal(given.code, 1);
    assertOneLine(given, /could not open the cluster: PostgreSQL/);
  });
});
