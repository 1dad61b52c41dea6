import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { writeFileAtomic } from "../../src/lib/durable-write.js";
import { makeDirectoryDurable } from "../../src/lib/sync-directory.js";
import { openPrivateDatabase } from "../../src/lib/sqlite-database.js";
import { generatePrincipal } from "../../src/stores/principals/keys.js";
import { openSqlitePrincipalStore, principalsAreSealed } from "../../src/stores/principals/sqlite-principal-store.js";
import { resealPrincipalSecrets } from "../../src/stores/principals/reseal-secrets.js";
import {
  fingerprintOf,
  openFileSigningKeyStore,
  resealSigningKeyFiles,
  sealSigningKeyFiles,
  signingKeysAreSealed,
} from "../../src/stores/signing-keys/signing-keys.js";
import { testMasterKey } from "../helpers/master-key.js";

const mode = (path: string) => statSync(path).mode & 0o777;
const bytesOfDirectory = (directory: string) =>
  Buffer.concat(readdirSync(directory).map((name) => readFileSync(join(directory, name))));

/** principals.db as Cairn wrote it before secrets were sealed (schema 1, plaintext secrets). */
function writeLegacyPrincipals(path: string, rows: Array<{ accessKeyId: string; secret: string; name: string }>): void {
  const db = new Database(path);
  db.exec(`CREATE TABLE principals (
    access_key_id TEXT PRIMARY KEY, secret_access_key TEXT NOT NULL, name TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('Root', 'IAMUser', 'AssumedRole')), account_id TEXT NOT NULL,
    principal_id TEXT NOT NULL, created_at_ms INTEGER NOT NULL) STRICT;`);
  const insert = db.prepare("INSERT INTO principals VALUES (?, ?, ?, 'IAMUser', '111122223333', 'AIDAEXAMPLE', 1)");
  for (const row of rows) insert.run(row.accessKeyId, row.secret, row.name);
  db.pragma("user_version = 1");
  db.close();
}

describe("sealed secrets in the embedded stores", () => {
  let directory: string;
  let previousUmask: number;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), "cairn-sealed-"));
    previousUmask = process.umask(0o000);
  });
  afterEach(() => {
    process.umask(previousUmask);
    rmSync(directory, { recursive: true, force: true });
  });

  it("principals.db holds no secret in clear; the same key reads it back, identities-only reads no secret", async () => {
    const path = join(directory, "principals.db");
    const masterKey = testMasterKey();
    const store = openSqlitePrincipalStore(path, { masterKey });
    const alice = generatePrincipal({ name: "alice", type: "IAMUser", accountId: "111122223333", createdAtMs: 1 });
    await store.add(alice);
    assert.equal((await store.findByAccessKeyId(alice.accessKeyId))?.secretAccessKey, alice.secretAccessKey);
    assert.ok(!bytesOfDirectory(directory).includes(alice.secretAccessKey), "no plaintext secret in db, -wal or -shm");
    assert.ok(principalsAreSealed(path));

    const identities = openSqlitePrincipalStore(path);
    const seen = await identities.findByAccessKeyId(alice.accessKeyId);
    assert.equal(seen?.name, "alice");
    assert.equal(seen?.secretAccessKey, "");
    await assert.rejects(identities.add({ ...alice, accessKeyId: "AKIAOTHER00000000000" }), /without the master key/);
    await identities.close();
    await store.close();

    assert.throws(
      () => openSqlitePrincipalStore(path, { masterKey: testMasterKey() }),
      new RegExp(`secret of access key ${alice.accessKeyId} does not open with master key`),
    );
  });

  it("SQLite files and their -wal/-shm are 0600 in a 0700 directory even under umask 000", () => {
    const path = join(directory, "nested", "store.db");
    const db = openPrivateDatabase(path);
    db.pragma("journal_mode = WAL");
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)");
    assert.equal(mode(join(directory, "nested")), 0o700);
    for (const name of ["store.db", "store.db-wal", "store.db-shm"])
      assert.equal(mode(join(directory, "nested", name)), 0o600, name);
    db.close();
  });

  it("durable writes and directories are 0600/0700 by default under umask 000", async () => {
    await makeDirectoryDurable(join(directory, "a", "b"));
    await writeFileAtomic(join(directory, "a", "b", "file"), "x");
    assert.equal(mode(join(directory, "a")), 0o700);
    assert.equal(mode(join(directory, "a", "b")), 0o700);
    assert.equal(mode(join(directory, "a", "b", "file")), 0o600);
  });

  it("upgrades a schema-1 principals.db in place: secrets sealed, still the same secrets, users entered", async () => {
    const path = join(directory, "principals.db");
    const legacy = {
      accessKeyId: "AKIALEGACY0000000001",
      secret: "legacy/plaintext/secret/00000000000000000",
      name: "old",
    };
    writeLegacyPrincipals(path, [legacy]);
    assert.equal(principalsAreSealed(path), false);
    assert.throws(() => openSqlitePrincipalStore(path), /plaintext secret access keys from an older Cairn/);

    const masterKey = testMasterKey();
    const store = openSqlitePrincipalStore(path, { masterKey });
    assert.equal((await store.findByAccessKeyId(legacy.accessKeyId))?.secretAccessKey, legacy.secret);
    assert.deepEqual(
      (await store.listUsers("111122223333")).map((user) => [user.userName, user.userId]),
      [["old", "AIDAEXAMPLE"]],
    );
    await store.close();
    assert.ok(!bytesOfDirectory(directory).includes(legacy.secret));
    assert.ok(principalsAreSealed(path));
    const raw = new Database(path, { readonly: true });
    assert.equal(raw.pragma("user_version", { simple: true }), 3);
    assert.match(String(raw.prepare("SELECT secret_access_key FROM principals").pluck().get()), /^v1:/);
    raw.close();
  });

  it("signing keys: new private keys are sealed; legacy PEM files are sealed in place and still sign", async () => {
    const clock = { nowMs: () => Date.UTC(2026, 0, 1) };
    const masterKey = testMasterKey();
    const store = openFileSigningKeyStore({ dataDir: directory, clock, masterKey });
    const fresh = await store.signingKey("us-east-1");
    const freshFile = readdirSync(join(directory, "keys", "us-east-1"))[0]!;
    const freshText = readFileSync(join(directory, "keys", "us-east-1", freshFile), "utf8");
    assert.ok(!freshText.includes("PRIVATE KEY"));
    assert.match(JSON.parse(freshText).privateKeySealed as string, /^v1:/);
    assert.ok(await signingKeysAreSealed(directory));
    assert.equal(mode(join(directory, "keys")), 0o700);
    assert.equal(mode(join(directory, "keys", "us-east-1", freshFile)), 0o600);

    // A key file as an older Cairn wrote it, in another region.
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const der = publicKey.export({ type: "pkcs1", format: "der" });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    mkdirSync(join(directory, "keys", "eu-west-1"), { recursive: true });
    const legacyPath = join(directory, "keys", "eu-west-1", "20260101T000000000Z-legacy.json");
    const legacy = {
      region: "eu-west-1",
      fingerprint: fingerprintOf(der),
      validityStartMs: clock.nowMs(),
      validityEndMs: clock.nowMs() + 30 * 86_400_000,
      publicKeyDer: der.toString("base64"),
      privateKeyPem: pem,
    };
    writeFileSync(legacyPath, JSON.stringify(legacy));

    await assert.rejects(sealSigningKeyFiles(directory, testMasterKey()), /does not open with master key/);
    assert.equal(await sealSigningKeyFiles(directory, masterKey), 1);
    assert.equal(await sealSigningKeyFiles(directory, masterKey), 0, "idempotent");
    const upgraded = readFileSync(legacyPath, "utf8");
    assert.ok(!upgraded.includes(pem.split("\n")[1]!), "no line of the PEM body is left");
    assert.equal(mode(legacyPath), 0o600);

    const reopened = openFileSigningKeyStore({ dataDir: directory, clock, masterKey });
    const signer = await reopened.signingKey("eu-west-1");
    assert.equal(signer.fingerprint, legacy.fingerprint, "the legacy key is still the current key");
    const signature = Buffer.from(signer.signHex("digest"), "hex");
    assert.ok(
      verify("sha256", Buffer.from("digest"), createPublicKey({ key: der, format: "der", type: "pkcs1" }), signature),
    );
    assert.equal((await reopened.signingKey("us-east-1")).fingerprint, fresh.fingerprint);
  });

  it("re-sealing for a master key rotation: all or nothing, with either key, and the secrets stay the same", async () => {
    const path = join(directory, "principals.db");
    const [oldKey, newKey, strayKey] = [testMasterKey(), testMasterKey(), testMasterKey()];
    const store = openSqlitePrincipalStore(path, { masterKey: oldKey });
    const principals = ["alice", "bob"].map((name) =>
      generatePrincipal({ name, type: "IAMUser", accountId: "111122223333", createdAtMs: 1 }),
    );
    for (const principal of principals) await store.add(principal);
    await store.close();
    const sealedValues = () => {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare("SELECT secret_access_key FROM principals ORDER BY rowid").pluck().all() as string[];
      } finally {
        db.close();
      }
    };
    const setSealed = (accessKeyId: string, sealed: string) => {
      const db = new Database(path);
      db.prepare("UPDATE principals SET secret_access_key = ? WHERE access_key_id = ?").run(sealed, accessKeyId);
      db.close();
    };

    // The second row opens with none of `from`: the first row's new value is rolled back with it.
    const before = sealedValues();
    const bob = principals[1]!;
    setSealed(bob.accessKeyId, strayKey.seal(bob.secretAccessKey, `cairn principal secret ${bob.accessKeyId}`));
    const withStray = sealedValues();
    assert.throws(
      () => resealPrincipalSecrets(path, [oldKey], newKey),
      new RegExp(`secret of access key ${bob.accessKeyId} does not open with master key ${oldKey.id}`),
    );
    assert.deepEqual(sealedValues(), withStray, "nothing changed");
    setSealed(bob.accessKeyId, before[1]!);
    assert.equal(resealPrincipalSecrets(path, [newKey, oldKey], newKey), 2);
    // A re-run (a rotation finishing after a crash) opens values already re-sealed just as well.
    assert.equal(resealPrincipalSecrets(path, [newKey, oldKey], newKey), 2);
    assert.throws(() => openSqlitePrincipalStore(path, { masterKey: oldKey }), /does not open with master key/);
    const reopened = openSqlitePrincipalStore(path, { masterKey: newKey });
    for (const principal of principals) {
      assert.equal(
        (await reopened.findByAccessKeyId(principal.accessKeyId))?.secretAccessKey,
        principal.secretAccessKey,
      );
    }
    await reopened.close();
    assert.equal(resealPrincipalSecrets(join(directory, "absent.db"), [newKey], newKey), 0);

    const clock = { nowMs: () => Date.UTC(2026, 0, 1) };
    const signer = await openFileSigningKeyStore({ dataDir: directory, clock, masterKey: oldKey }).signingKey(
      "us-east-1",
    );
    await assert.rejects(resealSigningKeyFiles(directory, [strayKey], newKey), /does not open with master key/);
    const seen: number[] = [];
    assert.equal(
      await resealSigningKeyFiles(directory, [newKey, oldKey], newKey, async (count) => void seen.push(count)),
      1,
    );
    assert.deepEqual(seen, [1]);
    const keyFile = join(directory, "keys", "us-east-1", readdirSync(join(directory, "keys", "us-east-1"))[0]!);
    assert.equal(mode(keyFile), 0o600);
    assert.ok(!readFileSync(keyFile, "utf8").includes("privateKeyPem"));
    await assert.rejects(sealSigningKeyFiles(directory, oldKey), /does not open with master key/);
    const resealed = await openFileSigningKeyStore({ dataDir: directory, clock, masterKey: newKey }).signingKey(
      "us-east-1",
    );
    assert.equal(resealed.fingerprint, signer.fingerprint);
    const publicKey = createPublicKey({ key: signer.publicKeyDer, format: "der", type: "pkcs1" });
    assert.ok(verify("sha256", Buffer.from("digest"), publicKey, Buffer.from(resealed.signHex("digest"), "hex")));
  });
});
