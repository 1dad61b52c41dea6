import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openSqlitePrincipalStore } from "../../src/stores/principals/sqlite-principal-store.js";

// Compiled to dist/test/cli/, three levels below the repository root.
const CAIRN = fileURLToPath(new URL("../../../bin/cairn.js", import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), "cairn-principal-cli-"));
after(() => rmSync(dataDir, { recursive: true, force: true }));

function cairn(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [CAIRN, ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, ...env },
    timeout: 20_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface PrincipalJson {
  name: string;
  type: string;
  accountId: string;
  principalId: string;
  arn: string;
  accessKeyId: string;
  secretAccessKey?: string;
}

describe("cairn principal add / list (child processes)", () => {
  it("adds an IAM user with generated keys and prints them as text", () => {
    const { code, stdout } = cairn(["principal", "add", "--name", "alice", "--data-dir", dataDir]);
    assert.equal(code, 0);
    assert.match(stdout, /Created IAMUser alice in account 123456789012\./);
    assert.match(stdout, /Access key ID: +AKIA[A-Z0-9]{16}\n/);
    assert.match(stdout, /Secret access key: +[A-Za-z0-9+/]{40}\n/);
    assert.match(stdout, /ARN: +arn:aws:iam::123456789012:user\/alice\n/);
  });

  it("prints JSON with --json, reads the account and data dir from the environment", () => {
    const { code, stdout } = cairn(["principal", "add", "--name", "deploy/ci-run", "--type", "AssumedRole", "--json"], {
      CAIRN_DATA_DIR: dataDir,
      CAIRN_ACCOUNT_ID: "111122223333",
    });
    assert.equal(code, 0);
    const added = JSON.parse(stdout) as PrincipalJson;
    assert.equal(added.type, "AssumedRole");
    assert.equal(added.accountId, "111122223333");
    assert.match(added.accessKeyId, /^ASIA[A-Z0-9]{16}$/);
    assert.match(added.principalId, /^AROA[A-Z0-9]{17}$/);
    assert.equal(added.arn, "arn:aws:sts::111122223333:assumed-role/deploy/ci-run");
    assert.equal(typeof added.secretAccessKey, "string");
  });

  it("stores given keys, and refuses the same access key id twice with exit code 1", () => {
    const keys = [
      "--access-key-id",
      "AKIAIOSFODNN7EXAMPLE",
      "--secret-access-key",
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ];
    const first = cairn(["principal", "add", "--name", "bob", "--data-dir", dataDir, ...keys]);
    assert.equal(first.code, 0, first.stderr);
    const second = cairn(["principal", "add", "--name", "carol", "--data-dir", dataDir, ...keys]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /Access key id AKIAIOSFODNN7EXAMPLE already exists: it belongs to IAMUser bob/);
  });

  it("gives a second key of the same user the same principal id", () => {
    const first = JSON.parse(
      cairn(["principal", "add", "--name", "dave", "--json", "--data-dir", dataDir]).stdout,
    ) as PrincipalJson;
    const second = JSON.parse(
      cairn(["principal", "add", "--name", "dave", "--json", "--data-dir", dataDir]).stdout,
    ) as PrincipalJson;
    assert.notEqual(first.accessKeyId, second.accessKeyId);
    assert.equal(first.principalId, second.principalId);
  });

  it("refuses bad input with exit code 2", () => {
    const badAccount = cairn(["principal", "add", "--name", "x", "--account-id", "12ab", "--data-dir", dataDir]);
    assert.equal(badAccount.code, 2);
    assert.match(badAccount.stderr, /--account-id: must be 12 digits \(got "12ab"\)/);
    const badName = cairn(["principal", "add", "--name", "no spaces please", "--data-dir", dataDir]);
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /--name: must be 1–64 characters/);
    const halfKey = cairn([
      "principal",
      "add",
      "--name",
      "x",
      "--access-key-id",
      "AKIAIOSFODNN7EXAMPL2",
      "--data-dir",
      dataDir,
    ]);
    assert.equal(halfKey.code, 2);
    const badType = cairn(["principal", "add", "--name", "x", "--type", "Robot", "--data-dir", dataDir]);
    assert.equal(badType.code, 2);
    const reserved = cairn(["principal", "add", "--name", "root", "--type", "Root", "--data-dir", dataDir]);
    assert.equal(reserved.code, 2);
  });

  it("ignores CAIRN_ACCESS_KEY_ID (the server's admin key) when adding", () => {
    const { code, stdout } = cairn(["principal", "add", "--name", "erin", "--json", "--data-dir", dataDir], {
      CAIRN_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
      CAIRN_SECRET_ACCESS_KEY: "secret",
    });
    assert.equal(code, 0);
    assert.notEqual((JSON.parse(stdout) as PrincipalJson).accessKeyId, "AKIAIOSFODNN7EXAMPLE");
  });

  it("lists principals without secrets, as a table or JSON", () => {
    const json = cairn(["principal", "list", "--json", "--data-dir", dataDir]);
    assert.equal(json.code, 0);
    const listed = JSON.parse(json.stdout) as PrincipalJson[];
    assert.deepEqual(
      listed.map((p) => p.name),
      ["alice", "deploy/ci-run", "bob", "dave", "dave", "erin"],
    );
    assert.ok(listed.every((p) => p.secretAccessKey === undefined));
    assert.doesNotMatch(json.stdout, /wJalrXUtnFEMI/);
    const table = cairn(["principal", "list", "--data-dir", dataDir]);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /alice/);
    assert.doesNotMatch(table.stdout, /wJalrXUtnFEMI/);
  });

  it("makes a key visible to an already-open store (as the running server holds it)", async () => {
    const server = openSqlitePrincipalStore(join(dataDir, "principals.db"));
    try {
      const added = JSON.parse(
        cairn(["principal", "add", "--name", "frank", "--json", "--data-dir", dataDir]).stdout,
      ) as PrincipalJson;
      assert.equal((await server.findByAccessKeyId(added.accessKeyId))?.name, "frank");
    } finally {
      await server.close();
    }
  });
});
