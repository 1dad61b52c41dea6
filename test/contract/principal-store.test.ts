import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { StoreUnavailableError } from "../../src/lib/transient-error.js";
import { generatePrincipal } from "../../src/stores/principals/keys.js";
import { openPostgresPrincipalStore } from "../../src/stores/principals/postgres-principal-store.js";
import { openSqlitePrincipalStore } from "../../src/stores/principals/sqlite-principal-store.js";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import { testMasterKey } from "../helpers/master-key.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { principalStoreContractSuite } from "./principal-store.suite.js";

principalStoreContractSuite("SQLite", async () => {
  const directory = await mkdtemp(join(tmpdir(), "cairn-principals-"));
  const path = join(directory, "principals.db");
  const masterKey = testMasterKey();
  const store = openSqlitePrincipalStore(path, { masterKey });
  return {
    store,
    reopen: async () => openSqlitePrincipalStore(path, { masterKey }),
    async cleanup() {
      await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
});

const postgresMissing = postgresMissingReason();

describe("PostgreSQL principal store", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  /** A fresh database; `reopen` is another node (its own pool, the same master key) on it. */
  async function open(masterKey = testMasterKey()) {
    const database = await server.createDatabase();
    const dbs: PostgresDatabase[] = [];
    const connect = () => {
      const db = openPostgresDatabase({ url: database.url });
      dbs.push(db);
      return db;
    };
    const store = await openPostgresPrincipalStore(connect(), { masterKey });
    return {
      store,
      masterKey,
      connect,
      reopen: () => openPostgresPrincipalStore(connect(), { masterKey }),
      async cleanup() {
        await store.close();
        for (const db of dbs) await db.close();
        await database.drop();
      },
    };
  }

  principalStoreContractSuite("PostgreSQL", () => open());

  it("keeps secret access keys sealed in the database, bound to their access key id", async () => {
    const { store, masterKey, connect, cleanup } = await open();
    try {
      const alice = generatePrincipal({ name: "alice", type: "IAMUser", accountId: "123456789012", createdAtMs: 1 });
      const bob = generatePrincipal({ name: "bob", type: "IAMUser", accountId: "123456789012", createdAtMs: 2 });
      await store.add(alice);
      await store.add(bob);
      const db = connect();
      const rows = await db.query<{ access_key_id: string; secret_access_key: string }>(
        "SELECT access_key_id, secret_access_key FROM cairn_principals",
      );
      assert.equal(rows.length, 2);
      for (const row of rows) {
        assert.match(row.secret_access_key, /^v1:/);
        assert.ok(!row.secret_access_key.includes(alice.secretAccessKey));
        assert.ok(!row.secret_access_key.includes(bob.secretAccessKey));
      }
      assert.equal(
        masterKey.open(rows[0]!.secret_access_key, `cairn principal secret ${rows[0]!.access_key_id}`).length,
        40,
      );
      // A sealed secret moved onto another key's row does not open: the store refuses to start.
      await db.query(
        "UPDATE cairn_principals SET secret_access_key = (SELECT secret_access_key FROM cairn_principals WHERE access_key_id = $1) WHERE access_key_id = $2",
        [alice.accessKeyId, bob.accessKeyId],
      );
      await assert.rejects(openPostgresPrincipalStore(connect(), { masterKey }), {
        name: "PrincipalSecretsError",
        message: new RegExp(`access key ${bob.accessKeyId} does not open with master key ${masterKey.id}`),
      });
      await assert.rejects(
        db.query("UPDATE cairn_principals SET secret_access_key = 'plaintext' WHERE access_key_id = $1", [
          alice.accessKeyId,
        ]),
        /check constraint/,
        "a plaintext secret is refused by the schema itself",
      );
    } finally {
      await cleanup();
    }
  });

  it("refuses to open with another master key than the one that sealed the secrets", async () => {
    const { store, connect, cleanup } = await open();
    try {
      await store.add(generatePrincipal({ name: "alice", type: "Root", accountId: "123456789012", createdAtMs: 1 }));
      const other = testMasterKey();
      await assert.rejects(openPostgresPrincipalStore(connect(), { masterKey: other }), {
        name: "PrincipalSecretsError",
        message: /same CAIRN_MASTER_KEY/,
      });
    } finally {
      await cleanup();
    }
  });

  it("answers StoreUnavailableError while PostgreSQL is down, and serves again once it is back", async () => {
    const { store, cleanup } = await open();
    try {
      const alice = generatePrincipal({ name: "alice", type: "IAMUser", accountId: "123456789012", createdAtMs: 1 });
      await store.add(alice);
      await server.restart({
        whileDown: async () => {
          await assert.rejects(store.findByAccessKeyId(alice.accessKeyId), StoreUnavailableError);
          await assert.rejects(store.add({ ...alice, accessKeyId: "AKIAWHILEDOWN0000000" }), StoreUnavailableError);
        },
      });
      assert.deepEqual(await store.findByAccessKeyId(alice.accessKeyId), alice, "no reopen needed");
      assert.equal(await store.findByAccessKeyId("AKIAWHILEDOWN0000000"), undefined, "nothing half-written");
    } finally {
      await cleanup();
    }
  });

  it("refuses NUL in what it stores and finds nothing by a name holding one", async () => {
    const { store, cleanup } = await open();
    try {
      const alice = generatePrincipal({ name: "alice", type: "IAMUser", accountId: "123456789012", createdAtMs: 1 });
      await store.add(alice);
      await assert.rejects(store.add({ ...alice, accessKeyId: "AKIA\u0000EVIL" }), RangeError);
      await assert.rejects(
        store.createUser({
          accountId: "123456789012",
          userName: "a\u0000b",
          userId: "AIDA1",
          path: "/",
          createdAtMs: 1,
        }),
        RangeError,
      );
      assert.equal(await store.findByAccessKeyId(`${alice.accessKeyId}\u0000`), undefined);
      assert.equal((await store.findByAccessKeyIds([alice.accessKeyId, "\u0000"])).size, 1);
      assert.equal(await store.findUser("123456789012", "alice\u0000"), undefined);
      assert.equal(await store.remove("\u0000"), false);
      assert.deepEqual(await store.list({ accountId: "\u0000" }), []);
    } finally {
      await cleanup();
    }
  });
});
