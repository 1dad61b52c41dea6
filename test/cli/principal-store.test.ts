import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBootstrapAdmin } from "../../src/app/bootstrap.js";
import { generateAccessKey, generatePrincipal } from "../../src/stores/principals/keys.js";
import { principalNameProblem } from "../../src/stores/principals/principal-name.js";
import { openSqlitePrincipalStore } from "../../src/stores/principals/sqlite-principal-store.js";
import { testMasterKey } from "../helpers/master-key.js";

const directory = mkdtempSync(join(tmpdir(), "cairn-principals-"));
after(() => rmSync(directory, { recursive: true, force: true }));
let counter = 0;
const freshPath = () => join(directory, `principals-${(counter += 1)}.db`);
const fixedClock = { nowMs: () => 1_700_000_000_000 };
const masterKey = testMasterKey();

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

// The store's own behaviour (add, find, list, duplicates, reopening, a second connection) is the
// PrincipalStore contract: test/contract/principal-store.suite.ts.

describe("ensureBootstrapAdmin", () => {
  const account = { accountId: "123456789012" };
  const configured = {
    ...account,
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  };

  it("generates a root principal once and reuses it on later starts", async () => {
    const path = freshPath();
    const first = openSqlitePrincipalStore(path, { masterKey });
    const admin = await ensureBootstrapAdmin(first, account, fixedClock);
    await first.close();
    assert.equal(admin.type, "Root");
    assert.equal(admin.principalId, "123456789012");
    assert.match(admin.accessKeyId, /^AKIA/);
    const second = openSqlitePrincipalStore(path, { masterKey });
    assert.deepEqual(await ensureBootstrapAdmin(second, account, fixedClock), admin);
    assert.equal((await second.list()).length, 1);
    await second.close();
  });

  it("uses the configured key and makes it the admin's only key", async () => {
    const store = openSqlitePrincipalStore(freshPath(), { masterKey });
    const generated = await ensureBootstrapAdmin(store, account, fixedClock);
    const admin = await ensureBootstrapAdmin(store, configured, fixedClock);
    assert.equal(admin.accessKeyId, configured.accessKeyId);
    assert.equal(admin.secretAccessKey, configured.secretAccessKey);
    assert.equal(await store.findByAccessKeyId(generated.accessKeyId), undefined, "the replaced key no longer works");
    // Unchanged variables on the next start: nothing changes.
    assert.deepEqual(await ensureBootstrapAdmin(store, configured, fixedClock), admin);
    // A new secret for the same key id updates it.
    const rotated = await ensureBootstrapAdmin(store, { ...configured, secretAccessKey: "new-secret" }, fixedClock);
    assert.equal(rotated.secretAccessKey, "new-secret");
    assert.equal((await store.findByAccessKeyId(configured.accessKeyId))?.secretAccessKey, "new-secret");
    assert.equal((await store.list()).length, 1);
    await store.close();
  });

  it("lets nodes started together with the same configured key all start, with one admin", async () => {
    const path = freshPath();
    // Two connections, as two cluster nodes have: each reads the key missing before either adds it.
    const stores = [openSqlitePrincipalStore(path, { masterKey }), openSqlitePrincipalStore(path, { masterKey })];
    const admins = await Promise.all(stores.map((store) => ensureBootstrapAdmin(store, configured, fixedClock)));
    for (const admin of admins) assert.equal(admin.secretAccessKey, configured.secretAccessKey);
    assert.equal((await stores[0]!.list()).length, 1);
    await Promise.all(stores.map((store) => store.close()));
  });

  it("lets a node start whose list of admins was read before another node added the configured key", async () => {
    const path = freshPath();
    const [first, second] = [
      openSqlitePrincipalStore(path, { masterKey }),
      openSqlitePrincipalStore(path, { masterKey }),
    ];
    const readBefore = await second.list(account);
    await ensureBootstrapAdmin(first, configured, fixedClock);
    // The second node's list answers as it did before the first node's add: the interleaving of a real race.
    const lagging = new Proxy(second, {
      get: (target, name) =>
        name === "list"
          ? async () => readBefore
          : (Reflect.get(target, name) as (...args: unknown[]) => unknown).bind(target),
    });
    const admin = await ensureBootstrapAdmin(lagging, configured, fixedClock);
    assert.equal(admin.accessKeyId, configured.accessKeyId);
    assert.equal((await second.list()).length, 1);
    await Promise.all([first.close(), second.close()]);
  });

  it("refuses a configured key that belongs to another principal", async () => {
    const store = openSqlitePrincipalStore(freshPath(), { masterKey });
    await store.add(generatePrincipal({ name: "alice", type: "IAMUser", createdAtMs: 1, ...configured }));
    await assert.rejects(ensureBootstrapAdmin(store, configured, fixedClock), /already belongs to IAMUser "alice"/);
    await store.close();
  });
});
