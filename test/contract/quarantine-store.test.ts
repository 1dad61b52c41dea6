import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import { openPostgresQuarantineStore } from "../../src/stores/quarantine/index.js";
import { openSqliteQuarantineStore } from "../../src/stores/quarantine/sqlite-quarantine-store.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { quarantineStoreContractSuite } from "./quarantine-store.suite.js";

quarantineStoreContractSuite("SQLite", async () => {
  const directory = await mkdtemp(join(tmpdir(), "cairn-quarantine-"));
  const path = join(directory, "quarantine.db");
  const store = openSqliteQuarantineStore(path);
  return {
    store,
    reopen: async () => openSqliteQuarantineStore(path),
    async cleanup() {
      await store.close().catch(() => undefined);
      await rm(directory, { recursive: true, force: true });
    },
  };
});

const postgresMissing = postgresMissingReason();

describe("PostgreSQL quarantine store", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  /** A fresh database; `reopen` is another node (its own pool) on it. */
  async function open() {
    const database = await server.createDatabase();
    const dbs: PostgresDatabase[] = [];
    const node = () => {
      const db = openPostgresDatabase({ url: database.url });
      dbs.push(db);
      return openPostgresQuarantineStore(db);
    };
    const store = await node();
    return {
      store,
      reopen: node,
      async cleanup() {
        await store.close();
        for (const db of dbs) await db.close();
        await database.drop();
      },
    };
  }

  quarantineStoreContractSuite("PostgreSQL", open);

  it("keeps a record whose fields carry NUL, which PostgreSQL text cannot hold", async () => {
    const { store, cleanup } = await open();
    try {
      await store.add({
        consumer: "lake-writer",
        seq: 9,
        eventId: "evil\u0000id",
        error: "refused \u0000 byte",
        quarantinedAtMs: 1,
      });
      const [record] = (await store.list({ maxResults: 1 })).records;
      assert.equal(record?.eventId, "evil\uFFFDid");
      assert.equal(record?.error, "refused \uFFFD byte");
    } finally {
      await cleanup();
    }
  });
});
