import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openPostgresSigmaStore, openSqliteSigmaStore, SigmaFencedOffError } from "../../src/stores/sigma/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { itKeepsItsFilePrivate, postgresPlace, sqlitePlace } from "./store-places.js";
import { sigmaMatchStoreContractSuite } from "./sigma-match-store.suite.js";
import { sigmaRuleStoreContractSuite } from "./sigma-rule-store.suite.js";

const sqlite = sqlitePlace("sigma.db", openSqliteSigmaStore);
sigmaRuleStoreContractSuite("SQLite", sqlite);
sigmaMatchStoreContractSuite("SQLite", sqlite);

describe("SQLite Sigma store file", () => itKeepsItsFilePrivate("sigma.db", openSqliteSigmaStore));

const postgresMissing = postgresMissingReason();

describe("PostgreSQL Sigma store", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  const postgres = postgresPlace(() => server, openPostgresSigmaStore);
  sigmaRuleStoreContractSuite("PostgreSQL", postgres);
  sigmaMatchStoreContractSuite("PostgreSQL", postgres);

  it("refuses a commit under a fencing token lower than one that committed, writing nothing", async () => {
    const place = await postgres();
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
