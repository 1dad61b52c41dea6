import assert from "node:assert/strict";
import { createPublicKey, verify } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { rotateClusterMasterKey } from "../../src/app/rotate-cluster-master-key.js";
import { systemClock } from "../../src/lib/clock.js";
import type { MasterKey } from "../../src/lib/secret-envelope.js";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import { generatePrincipal, openPostgresPrincipalStore, type Principal } from "../../src/stores/principals/index.js";
import { openPostgresSigningKeyStore, type SigningKey } from "../../src/stores/signing-keys/index.js";
import { testMasterKey } from "../helpers/master-key.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";

const REGIONS = ["eu-west-1", "us-east-1"];

/** What a node sees with `masterKey`: every principal, and each region's current signing key. */
async function openNode(url: string, masterKey: MasterKey) {
  const db = openPostgresDatabase({ url });
  try {
    const principals = await openPostgresPrincipalStore(db, { masterKey });
    const keys = await openPostgresSigningKeyStore(db, { clock: systemClock, masterKey });
    const signing = new Map<string, SigningKey>();
    for (const region of REGIONS) signing.set(region, await keys.signingKey(region));
    return { principals: await principals.list(), signing };
  } finally {
    await db.close();
  }
}

/** The file each secret table lives in: a rewrite (VACUUM FULL) gives it a new one. */
async function fileNodes(url: string): Promise<Record<string, string>> {
  const db = openPostgresDatabase({ url });
  try {
    const rows = await db.query<{ name: string; node: string }>(
      "SELECT relname AS name, pg_relation_filenode(oid)::text AS node FROM pg_class WHERE relname = ANY($1::text[])",
      [["cairn_principals", "cairn_signing_keys"]],
    );
    return Object.fromEntries(rows.map((row) => [row.name, row.node]));
  } finally {
    await db.close();
  }
}

function verifies(key: SigningKey, data: string): boolean {
  const publicKey = createPublicKey({ key: key.publicKeyDer, format: "der", type: "pkcs1" });
  return verify("sha256", Buffer.from(data, "utf8"), publicKey, Buffer.from(key.signHex(data), "hex"));
}

describe("cluster master key rotation (PostgreSQL)", { skip: postgresMissingReason() }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  /** A database a node seeded with two principals and a signing key per region, sealed with `oldKey`. */
  async function seeded() {
    const database = await server.createDatabase();
    const oldKey = testMasterKey();
    const db = openPostgresDatabase({ url: database.url });
    const principals = await openPostgresPrincipalStore(db, { masterKey: oldKey });
    const stored: Principal[] = [
      generatePrincipal({ name: "alice", type: "IAMUser", accountId: "123456789012", createdAtMs: 1 }),
      generatePrincipal({ name: "root", type: "Root", accountId: "123456789012", createdAtMs: 2 }),
    ];
    for (const principal of stored) await principals.add(principal);
    await db.close();
    const before = await openNode(database.url, oldKey);
    return { database, oldKey, stored, before };
  }

  it("re-seals every secret in one transaction; nodes then start with the new key only", async () => {
    const { database, oldKey, stored, before } = await seeded();
    try {
      const newKey = testMasterKey();
      const files = () => fileNodes(database.url);
      const filesBefore = await files();
      const rotation = await rotateClusterMasterKey({ databaseUrl: database.url, from: oldKey, to: newKey });
      const filesAfter = await files();
      for (const table of ["cairn_principals", "cairn_signing_keys"])
        assert.notEqual(
          filesAfter[table],
          filesBefore[table],
          `${table} was rewritten: no old ciphertext in its pages`,
        );
      assert.deepEqual(rotation, {
        fromKeyId: oldKey.id,
        toKeyId: newKey.id,
        principalSecrets: 2,
        signingKeys: 2,
        connectionSecrets: 0,
      });
      const afterRotation = await openNode(database.url, newKey);
      assert.deepEqual(afterRotation.principals, stored, "every secret access key survives");
      for (const region of REGIONS) {
        const key = afterRotation.signing.get(region)!;
        assert.equal(key.fingerprint, before.signing.get(region)!.fingerprint, "the same signing key");
        assert.ok(verifies(key, "digest"));
      }
      await assert.rejects(openNode(database.url, oldKey), { name: "PrincipalSecretsError" });
      const again = await rotateClusterMasterKey({ databaseUrl: database.url, from: oldKey, to: newKey });
      assert.equal(again.principalSecrets, 2, "a re-run (its commit unseen) finds values sealed with the new key");
      assert.deepEqual((await openNode(database.url, newKey)).principals, stored);
    } finally {
      await database.drop();
    }
  });

  it("changes nothing when the current key is not the one the secrets are sealed with", async () => {
    const { database, oldKey, stored } = await seeded();
    try {
      await assert.rejects(
        rotateClusterMasterKey({ databaseUrl: database.url, from: testMasterKey(), to: testMasterKey() }),
        { name: "MasterKeyError", message: /does not open with master key .* Nothing was re-sealed/ },
      );
      assert.deepEqual((await openNode(database.url, oldKey)).principals, stored);
    } finally {
      await database.drop();
    }
  });

  it("refuses while a node is connected to the database, changing nothing", async () => {
    const { database, oldKey, stored } = await seeded();
    const node: PostgresDatabase = openPostgresDatabase({ url: database.url });
    try {
      const principals = await openPostgresPrincipalStore(node, { masterKey: oldKey });
      await principals.list();
      await assert.rejects(rotateClusterMasterKey({ databaseUrl: database.url, from: oldKey, to: testMasterKey() }), {
        name: "MasterKeyError",
        message: /1 other Cairn session\(s\) are connected to .*stop every node/,
      });
      assert.deepEqual(await principals.list(), stored, "the node still opens every secret");
    } finally {
      await node.close();
      await database.drop();
    }
  });

  it("refuses a new key that is the current one, and rotates a database no node has used", async () => {
    const database = await server.createDatabase();
    try {
      const key = testMasterKey();
      await assert.rejects(rotateClusterMasterKey({ databaseUrl: database.url, from: key, to: key }), {
        name: "MasterKeyError",
      });
      const rotation = await rotateClusterMasterKey({ databaseUrl: database.url, from: key, to: testMasterKey() });
      assert.equal(rotation.principalSecrets + rotation.signingKeys, 0);
    } finally {
      await database.drop();
    }
  });
});
