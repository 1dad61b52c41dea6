import { mkdtemp, rm, stat } from "node:fs/promises";
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import {
  openPostgresSigmaStore,
  openSqliteSigmaStore,
  SigmaFencedOffError,
  type SigmaMatchStore,
  type SigmaRuleStore,
} from "../../src/stores/sigma/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { sigmaMatchStoreContractSuite } from "./sigma-match-store.suite.js";
import { sigmaRuleStoreContractSuite } from "./sigma-rule-store.suite.js";

type SigmaStore = SigmaRuleStore & SigmaMatchStore;

async function sqlitePlace() {
  const directory = await mkdtemp(join(tmpdir(), "cairn-sigma-"));
  const opened: SigmaStore[] = [];
  return {
    open() {
      const store = openSqliteSigmaStore(join(directory, "sigma.db"));
      opened.push(store);
      return store;
    },
    async cleanup() {
      for (const store of opened) await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

sigmaRuleStoreContractSuite("SQLite", sqlitePlace);
sigmaMatchStoreContractSuite("SQLite", sqlitePlace);

describe("SQLite Sigma store file", () => {
  it("is private to its owner", async () => {
    const directory = await mkdtemp(join(tmpdir(), "cairn-sigma-mode-"));
    try {
      await openSqliteSigmaStore(join(directory, "sigma.db")).close();
      assert.equal((await stat(join(directory, "sigma.db"))).mode & 0o777, 0o600);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

const postgresMissing = postgresMissingReason();

describe("PostgreSQL Sigma store", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  const postgresPlace = async () => {
    const database = await server.createDatabase();
    const dbs: PostgresDatabase[] = [];
    const stores: SigmaStore[] = [];
    return {
      async open() {
        const db = openPostgresDatabase({ url: database.url });
        dbs.push(db);
        const store = await openPostgresSigmaStore(db);
        stores.push(store);
        return store;
      },
      async cleanup() {
        for (const store of stores) await store.close();
        for (const db of dbs) await db.close();
        await database.drop();
      },
    };
  };
  sigmaRuleStoreContractSuite("PostgreSQL", postgresPlace);
  sigmaMatchStoreContractSuite("PostgreSQL", postgresPlace);

  it("refuses a commit under a fencing token lower than one that committed, writing nothing", async () => {
    const place = await postgresPlace();
    try {
      const store = await place.open();
      await store.commit([], 4, 2);
      const stale = {
        accountId: "111111111111",
        ruleId: "r",
        title: "r",
        level: "low",
        kind: "detection" as const,
        eventID: "e",
        eventTime: "2026-01-01T00:00:00Z",
        events: [],
        matchedAtMs: 1,
        seq: 5,
      };
      await assert.rejects(store.commit([stale], 5, 1), SigmaFencedOffError);
      assert.equal(await store.cursor(), 4);
      assert.deepEqual(await store.matchesAfter(0, 10), []);
      assert.equal(await store.commit([stale], 5, 3), 1);
    } finally {
      await place.cleanup();
    }
  });
});
