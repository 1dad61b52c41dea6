import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  openPostgresInsightSeriesStore,
  openSqliteInsightSeriesStore,
  type InsightSeriesStore,
} from "../../src/stores/insights/index.js";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { insightSeriesStoreContractSuite } from "./insight-series-store.suite.js";

insightSeriesStoreContractSuite("SQLite", async () => {
  const directory = await mkdtemp(join(tmpdir(), "cairn-insights-"));
  const opened: InsightSeriesStore[] = [];
  return {
    open() {
      const store = openSqliteInsightSeriesStore(join(directory, "insights.db"));
      opened.push(store);
      return store;
    },
    async cleanup() {
      for (const store of opened) await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
});

describe("SQLite Insights series file", () => {
  it("is private to its owner", async () => {
    const directory = await mkdtemp(join(tmpdir(), "cairn-insights-mode-"));
    try {
      await openSqliteInsightSeriesStore(join(directory, "insights.db")).close();
      assert.equal((await stat(join(directory, "insights.db"))).mode & 0o777, 0o600);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

const postgresMissing = postgresMissingReason();

describe("PostgreSQL Insights series", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  insightSeriesStoreContractSuite("PostgreSQL", async () => {
    const database = await server.createDatabase();
    const dbs: PostgresDatabase[] = [];
    const stores: InsightSeriesStore[] = [];
    return {
      async open() {
        const db = openPostgresDatabase({ url: database.url });
        dbs.push(db);
        const store = await openPostgresInsightSeriesStore(db);
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
