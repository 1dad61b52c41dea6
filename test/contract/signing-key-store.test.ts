import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import { openFileSigningKeyStore, openPostgresSigningKeyStore } from "../../src/stores/signing-keys/index.js";
import { testMasterKey } from "../helpers/master-key.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { signingKeyStoreContractSuite } from "./signing-key-store.suite.js";

const DAY_MS = 86_400_000;

signingKeyStoreContractSuite("file signing keys", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "cairn-keys-"));
  let nowMs = Date.UTC(2026, 11, 6);
  const clock = { nowMs: () => nowMs };
  const masterKey = testMasterKey();
  const open = () => openFileSigningKeyStore({ dataDir, clock, masterKey, validityDays: 30, rotateBeforeDays: 7 });
  return {
    store: open(),
    reopen: open,
    advanceMs: (ms) => void (nowMs += ms),
    nowMs: () => nowMs,
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
});

const postgresMissing = postgresMissingReason();

describe("PostgreSQL signing keys", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  /** A fresh database and a clock the test moves; `node()` is another node (its own pool) on it. */
  async function open(masterKey = testMasterKey()) {
    const database = await server.createDatabase();
    let nowMs = Date.UTC(2026, 11, 6);
    const clock = { nowMs: () => nowMs };
    const dbs: PostgresDatabase[] = [];
    const connect = () => {
      const db = openPostgresDatabase({ url: database.url });
      dbs.push(db);
      return db;
    };
    const node = (key = masterKey) =>
      openPostgresSigningKeyStore(connect(), { clock, masterKey: key, validityDays: 30, rotateBeforeDays: 7 });
    return {
      store: await node(),
      reopen: () => node(),
      node,
      connect,
      masterKey,
      advanceMs: (ms: number) => void (nowMs += ms),
      nowMs: () => nowMs,
      async cleanup() {
        for (const db of dbs) await db.close();
        await database.drop();
      },
    };
  }

  signingKeyStoreContractSuite("PostgreSQL", () => open());

  it("gives two nodes signing at once one key, and one successor when both rotate at once", async () => {
    const { store, node, advanceMs, nowMs, cleanup } = await open();
    try {
      const nodes = [store, await node(), await node()];
      const first = await Promise.all(
        nodes.flatMap((each) => [each.signingKey("us-east-1"), each.signingKey("us-east-1")]),
      );
      assert.equal(new Set(first.map((key) => key.fingerprint)).size, 1);
      advanceMs(24 * DAY_MS);
      const second = await Promise.all(nodes.map((each) => each.signingKey("us-east-1")));
      assert.equal(new Set(second.map((key) => key.fingerprint)).size, 1);
      assert.notEqual(second[0]!.fingerprint, first[0]!.fingerprint);
      const listed = await nodes[1]!.publicKeys("us-east-1", 0, nowMs());
      assert.deepEqual(
        listed.map((key) => key.fingerprint),
        [first[0]!.fingerprint, second[0]!.fingerprint],
      );
    } finally {
      await cleanup();
    }
  });

  it("keeps private keys sealed in the database and refuses to open with another master key", async () => {
    const { store, node, connect, masterKey, cleanup } = await open();
    try {
      const key = await store.signingKey("eu-west-1");
      const [row] = await connect().query<{ private_key_sealed: string }>(
        "SELECT private_key_sealed FROM cairn_signing_keys WHERE fingerprint = $1",
        [key.fingerprint],
      );
      assert.match(row!.private_key_sealed, /^v1:/);
      assert.ok(!row!.private_key_sealed.includes("PRIVATE KEY"));
      const pem = masterKey.open(row!.private_key_sealed, `cairn signing key eu-west-1 ${key.fingerprint}`);
      assert.match(pem, /^-----BEGIN PRIVATE KEY-----/);
      await assert.rejects(node(testMasterKey()), {
        name: "SigningKeySecretsError",
        message: new RegExp(`eu-west-1 key ${key.fingerprint}: the private key does not open with master key`),
      });
      await assert.rejects(
        connect().query("UPDATE cairn_signing_keys SET private_key_sealed = $1", [pem]),
        /check constraint/,
        "a plaintext private key is refused by the schema itself",
      );
    } finally {
      await cleanup();
    }
  });
});
