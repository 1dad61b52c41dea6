import { mkdtemp, rm, stat } from "node:fs/promises";
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openPostgresSnsStore, openSqliteSnsStore, type SnsStore } from "../../src/stores/sns/index.js";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { snsStoreContractSuite } from "./sns-store.suite.js";

snsStoreContractSuite("SQLite", async () => {
  const directory = await mkdtemp(join(tmpdir(), "cairn-sns-"));
  const opened: SnsStore[] = [];
  return {
    open() {
      const store = openSqliteSnsStore(join(directory, "sns.db"));
      opened.push(store);
      return store;
    },
    async cleanup() {
      for (const store of opened) await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
});

describe("SQLite SNS store file", () => {
  it("is private to its owner", async () => {
    const directory = await mkdtemp(join(tmpdir(), "cairn-sns-mode-"));
    try {
      await openSqliteSnsStore(join(directory, "sns.db")).close();
      assert.equal((await stat(join(directory, "sns.db"))).mode & 0o777, 0o600);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

const postgresMissing = postgresMissingReason();

describe("PostgreSQL SNS store", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  snsStoreContractSuite("PostgreSQL", async () => {
    const database = await server.createDatabase();
    const dbs: PostgresDatabase[] = [];
    const stores: SnsStore[] = [];
    return {
      async open() {
        const db = openPostgresDatabase({ url: database.url });
        dbs.push(db);
        const store = await openPostgresSnsStore(db);
        stores.push(store);
        return store;
      },
      async cleanup() {
        for (const store of stores) await store.close();
        for (const db of dbs) await db.close();
        await database.drop();
      },
    };
  });
});
