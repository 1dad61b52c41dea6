import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBootstrapAdmin } from "../../src/app/bootstrap.js";
import { generateAccessKey, generatePrincipal } from "../../src/stores/principals/keys.js";
import { PrincipalExistsError } from "../../src/stores/principals/principal.js";
import { principalNameProblem } from "../../src/stores/principals/principal-name.js";
import { openSqlitePrincipalStore } from "../../src/stores/principals/sqlite-principal-store.js";

const directory = mkdtempSync(join(tmpdir(), "cairn-principals-"));
after(() => rmSync(directory, { recursive: true, force: true }));
let counter = 0;
const freshPath = () => join(directory, `principals-${(counter += 1)}.db`);
const fixedClock = { nowMs: () => 1_700_000_000_000 };

describe("generated keys", () => {
  it("look like AWS keys", () => {
    for (let round = 0; round < 50; round += 1) {
      assert.match(generateAccessKey("IAMUser").accessKeyId, /^AKIA[A-Z0-9]{16}$/);
      assert.match(generateAccessKey("Root").accessKeyId, /^AKIA[A-Z0-9]{16}$/);
      assert.match(generateAccessKey("AssumedRole").accessKeyId, /^ASIA[A-Z0-9]{16}$/);
      assert.match(generateAccessKey("IAMUser").secretAccessKey, /^[A-Za-z0-9+/]{40}$/);
    }
  });

  it("give users AIDA ids, roles AROA ids, and root the account id", () => {
    const base = { accountId: "111122223333", createdAtMs: 0 };
    assert.match(generatePrincipal({ ...base, name: "alice", type: "IAMUser" }).principalId, /^AIDA[A-Z0-9]{17}$/);
    assert.match(generatePrincipal({ ...base, name: "r/s1", type: "AssumedRole" }).principalId, /^AROA[A-Z0-9]{17}$/);
    assert.equal(generatePrincipal({ ...base, name: "admin", type: "Root" }).principalId, "111122223333");
  });
});

describe("principalNameProblem", () => {
  it("follows IAM's name rules", () => {
    assert.equal(principalNameProblem("IAMUser", "alice.smith@example+ops"), undefined);
    assert.notEqual(principalNameProblem("IAMUser", "has space"), undefined);
    assert.notEqual(principalNameProblem("IAMUser", "x".repeat(65)), undefined);
    assert.equal(principalNameProblem("AssumedRole", "deploy/session-1"), undefined);
    assert.equal(principalNameProblem("AssumedRole", "deploy"), undefined);
    assert.notEqual(
      principalNameProblem("AssumedRole", "deploy/s"),
      undefined,
      "session names are at least 2 characters",
    );
    assert.notEqual(principalNameProblem("AssumedRole", "/session"), undefined);
  });
});

describe("openSqlitePrincipalStore", () => {
  it("adds, finds and lists principals", () => {
    const store = openSqlitePrincipalStore(freshPath());
    const alice = generatePrincipal({ name: "alice", type: "IAMUser", accountId: "123456789012", createdAtMs: 1 });
    const role = generatePrincipal({ name: "ops/s1", type: "AssumedRole", accountId: "123456789012", createdAtMs: 2 });
    store.add(alice);
    store.add(role);
    assert.deepEqual(store.findByAccessKeyId(alice.accessKeyId), alice);
    assert.equal(store.findByAccessKeyId("AKIANOSUCHKEY0000000"), undefined);
    assert.deepEqual(store.list(), [alice, role]);
    store.close();
  });

  it("refuses a duplicate access key id", () => {
    const store = openSqlitePrincipalStore(freshPath());
    const alice = generatePrincipal({ name: "alice", type: "IAMUser", accountId: "123456789012", createdAtMs: 1 });
    store.add(alice);
    assert.throws(() => store.add({ ...alice, name: "mallory" }), PrincipalExistsError);
    assert.equal(store.list().length, 1);
    store.close();
  });

  it("keeps rows across reopening", () => {
    const path = freshPath();
    const first = openSqlitePrincipalStore(path);
    const alice = generatePrincipal({ name: "alice", type: "IAMUser", accountId: "123456789012", createdAtMs: 1 });
    first.add(alice);
    first.close();
    const second = openSqlitePrincipalStore(path);
    assert.deepEqual(second.list(), [alice]);
    second.close();
  });

  it("lets one connection see rows another adds, without reopening (server + CLI)", () => {
    const path = freshPath();
    const server = openSqlitePrincipalStore(path);
    assert.equal(server.list().length, 0);
    const cli = openSqlitePrincipalStore(path);
    const bob = generatePrincipal({ name: "bob", type: "IAMUser", accountId: "123456789012", createdAtMs: 1 });
    cli.add(bob);
    assert.deepEqual(server.findByAccessKeyId(bob.accessKeyId), bob);
    assert.equal(cli.remove(bob.accessKeyId), true);
    assert.equal(server.findByAccessKeyId(bob.accessKeyId), undefined);
    cli.close();
    server.close();
  });
});

describe("ensureBootstrapAdmin", () => {
  const account = { accountId: "123456789012" };
  const configured = {
    ...account,
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  };

  it("generates a root principal once and reuses it on later starts", () => {
    const path = freshPath();
    const first = openSqlitePrincipalStore(path);
    const admin = ensureBootstrapAdmin(first, account, fixedClock);
    first.close();
    assert.equal(admin.type, "Root");
    assert.equal(admin.principalId, "123456789012");
    assert.match(admin.accessKeyId, /^AKIA/);
    const second = openSqlitePrincipalStore(path);
    assert.deepEqual(ensureBootstrapAdmin(second, account, fixedClock), admin);
    assert.equal(second.list().length, 1);
    second.close();
  });

  it("uses the configured key and makes it the admin's only key", () => {
    const store = openSqlitePrincipalStore(freshPath());
    const generated = ensureBootstrapAdmin(store, account, fixedClock);
    const admin = ensureBootstrapAdmin(store, configured, fixedClock);
    assert.equal(admin.accessKeyId, configured.accessKeyId);
    assert.equal(admin.secretAccessKey, configured.secretAccessKey);
    assert.equal(store.findByAccessKeyId(generated.accessKeyId), undefined, "the replaced key no longer works");
    // Unchanged variables on the next start: nothing changes.
    assert.deepEqual(ensureBootstrapAdmin(store, configured, fixedClock), admin);
    // A new secret for the same key id updates it.
    const rotated = ensureBootstrapAdmin(store, { ...configured, secretAccessKey: "new-secret" }, fixedClock);
    assert.equal(rotated.secretAccessKey, "new-secret");
    assert.equal(store.findByAccessKeyId(configured.accessKeyId)?.secretAccessKey, "new-secret");
    assert.equal(store.list().length, 1);
    store.close();
  });

  it("refuses a configured key that belongs to another principal", () => {
    const store = openSqlitePrincipalStore(freshPath());
    store.add(generatePrincipal({ name: "alice", type: "IAMUser", createdAtMs: 1, ...configured }));
    assert.throws(() => ensureBootstrapAdmin(store, configured, fixedClock), /already belongs to IAMUser "alice"/);
    store.close();
  });
});
