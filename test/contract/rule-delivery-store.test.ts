import { mkdtemp, rm, stat } from "node:fs/promises";
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  openPostgresRuleDeliveryStore,
  openSqliteRuleDeliveryStore,
  type RuleDeliveryStore,
} from "../../src/stores/rule-deliveries/index.js";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { ruleDeliveryStoreContractSuite } from "./rule-delivery-store.suite.js";

ruleDeliveryStoreContractSuite("SQLite", async () => {
  const directory = await mkdtemp(join(tmpdir(), "cairn-rule-deliveries-"));
  const opened: RuleDeliveryStore[] = [];
  return {
    open() {
      const store = openSqliteRuleDeliveryStore(join(directory, "rule-deliveries.db"));
      opened.push(store);
      return store;
    },
    async cleanup() {
      for (const store of opened) await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
});

describe("SQLite rule delivery store file", () => {
  it("is private to its owner", async () => {
    const directory = await mkdtemp(join(tmpdir(), "cairn-rule-deliveries-mode-"));
    try {
      await openSqliteRuleDeliveryStore(join(directory, "rule-deliveries.db")).close();
      assert.equal((await stat(join(directory, "rule-deliveries.db"))).mode & 0o777, 0o600);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

const postgresMissing = postgresMissingReason();

describe("PostgreSQL rule delivery store", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  ruleDeliveryStoreContractSuite("PostgreSQL", async () => {
    const database = await server.createDatabase();
    const dbs: PostgresDatabase[] = [];
    const stores: RuleDeliveryStore[] = [];
    return {
      async open() {
        const db = openPostgresDatabase({ url: database.url });
        dbs.push(db);
        const store = await openPostgresRuleDeliveryStore(db);
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
