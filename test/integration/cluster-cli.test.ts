import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import {
  CLI,
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCOUNT_ID,
  type ServerProcess,
} from "../helpers/server-process.js";
import { cloudTrailCall, sendRaw } from "../helpers/signed-request.js";

const missing = clusterEnginesMissingReason("cluster CLI tests");

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The real `cairn` with exactly `env` beside PATH: no CAIRN_* of the test's own environment leaks in. */
function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env["PATH"] ?? "", ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr });
      },
    );
  });
}

/** The fingerprints of the region's current signing keys, through ListPublicKeys with `credentials`. */
async function publicKeyFingerprints(
  node: ServerProcess,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<string[]> {
  const response = await sendRaw(node.url, cloudTrailCall("ListPublicKeys", {}, credentials));
  assert.equal(response.status, 200, response.text);
  return (JSON.parse(response.text) as { PublicKeyList: Array<{ Fingerprint: string }> }).PublicKeyList.map(
    (key) => key.Fingerprint,
  ).sort();
}

describe("`cairn principal …` and `cairn keys rotate-master` on a cluster's PostgreSQL", { skip: missing }, () => {
  let engines: ClusterEngines;
  let dir: string;

  before(async () => {
    engines = await startClusterEngines();
    dir = makeDataDir("cairn-cluster-cli-");
  });
  after(async () => {
    await engines?.stop();
    if (dir !== undefined) removeDataDir(dir);
  });

  /** A node's environment with `masterKey` (every node of a cluster is given the same one). */
  const clusterEnv = (masterKey: string): Record<string, string> =>
    engines.nodeEnv("cli-node", { CAIRN_MASTER_KEY: masterKey, CAIRN_ACCOUNT_ID: TEST_ACCOUNT_ID });
  const startNode = (masterKey: string) =>
    startServerProcess({ dataDir: join(dir, "node"), env: clusterEnv(masterKey) });

  it("refuses a partial cluster combination with exit code 2 and one line, before opening anything", async () => {
    for (const args of [
      ["principal", "list"],
      ["principal", "add", "--name", "half"],
      ["keys", "rotate-master"],
    ]) {
      const result = await runCli([...args, "--data-dir", join(dir, "unused")], {
        CAIRN_DATABASE_URL: engines.database.url,
      });
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      const lines = result.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, result.stderr);
      assert.match(
        lines[0]!,
        /^Error: cluster mode needs .*missing: CAIRN_JOURNAL_URL, CAIRN_S3_ENDPOINT, CAIRN_MASTER_KEY/,
      );
      assert.ok(!result.stderr.includes(new URL(engines.database.url).password), "never the password");
    }
  });

  it("adds a principal a running node accepts, lists it, and rotates the master key under which a restarted node still serves", async () => {
    const oldKey = engines.masterKey;
    let node = await startNode(oldKey);
    let fingerprints: string[];
    let user: { accessKeyId: string; secretAccessKey: string };
    try {
      const added = await runCli(
        [
          ...["principal", "add", "--name", "cli-operator", "--account-id", TEST_ACCOUNT_ID],
          ...["--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess", "--json"],
        ],
        clusterEnv(oldKey),
      );
      assert.equal(added.code, 0, added.stderr);
      user = JSON.parse(added.stdout) as { accessKeyId: string; secretAccessKey: string };
      // The node reads principals from PostgreSQL: the CLI's key signs a call it accepts. The first
      // ListPublicKeys makes the region's key, and lists it.
      fingerprints = await publicKeyFingerprints(node, user);
      assert.ok(fingerprints.length >= 1, "the current signing key");

      const listed = await runCli(["principal", "list", "--json"], clusterEnv(oldKey));
      assert.equal(listed.code, 0, listed.stderr);
      const principals = JSON.parse(listed.stdout) as Array<{ name: string; accessKeyId: string }>;
      assert.ok(principals.some((p) => p.name === "cli-operator" && p.accessKeyId === user.accessKeyId));
      assert.ok(!listed.stdout.includes(user.secretAccessKey), "list never shows a secret");

      const duplicate = await runCli(
        [
          "principal",
          "add",
          "--name",
          "again",
          "--access-key-id",
          user.accessKeyId,
          "--secret-access-key",
          "x".repeat(40),
        ],
        clusterEnv(oldKey),
      );
      assert.equal(duplicate.code, 1, duplicate.stderr);
      assert.match(duplicate.stderr, /already exists/);
    } finally {
      await node.stop();
    }

    const newKey = randomBytes(32).toString("base64");
    const newKeyFile = join(dir, "new-master.key");
    writeFileSync(newKeyFile, `${newKey}\n`, { mode: 0o600 });
    const withoutFile = await runCli(["keys", "rotate-master"], clusterEnv(oldKey));
    assert.equal(withoutFile.code, 2, withoutFile.stderr);
    assert.match(withoutFile.stderr, /--new-master-key-file: required in cluster mode/);

    node = await startNode(oldKey);
    try {
      const refused = await runCli(["keys", "rotate-master", "--new-master-key-file", newKeyFile], clusterEnv(oldKey));
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /stop every node before rotating/);
    } finally {
      await node.stop();
    }
    const rotated = await runCli(["keys", "rotate-master", "--new-master-key-file", newKeyFile], clusterEnv(oldKey));
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(
      rotated.stdout,
      /^Rotated the master key of the cluster's database \(CAIRN_DATABASE_URL\): \d+ secrets re-sealed/,
    );
    assert.ok(!rotated.stdout.includes(engines.database.url), "never the database URL");

    const stale = await runCli(["principal", "list"], clusterEnv(oldKey));
    assert.equal(stale.code, 1, "the old key opens nothing any more");

    node = await startNode(newKey);
    try {
      assert.deepEqual(
        await publicKeyFingerprints(node, user),
        fingerprints,
        "the same signing key, opened with the new key",
      );
      const listed = await runCli(["principal", "list"], clusterEnv(newKey));
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /cli-operator/);
    } finally {
      await node.stop();
    }
  });
});
