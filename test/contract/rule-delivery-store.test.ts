import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { migrate, openPostgresDatabase } from "../../src/stores/postgres/index.js";
import {
  openPostgresRuleDeliveryStore,
  openSqliteRuleDeliveryStore,
  RULE_DELIVERIES_MIGRATIONS,
} from "../../src/stores/rule-deliveries/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { ruleDeliveryStoreContractSuite } from "./rule-delivery-store.suite.js";
import { itKeepsItsFilePrivate, postgresPlace, sqlitePlace } from "./store-places.js";

const RULE = "arn:aws:events:us-east-1:111111111111:rule/tampering";
const T0 = 1_700_000_000_000;
/** What a store of schema 1 (before Sigma matches were delivered) held: a cursor at 9 and one delivery. */
const QUEUED_BEFORE = {
  ruleArn: RULE,
  targetId: "1",
  origin: "journal",
  seq: 7,
  accountId: "111111111111",
  firstAttemptAtMs: T0,
  attemptsMade: 0,
  nextAttemptAtMs: T0,
};

ruleDeliveryStoreContractSuite("SQLite", sqlitePlace("rule-deliveries.db", openSqliteRuleDeliveryStore));

describe("SQLite rule delivery store file", () => {
  itKeepsItsFilePrivate("rule-deliveries.db", openSqliteRuleDeliveryStore);

  it("brings a schema-1 file's cursor and deliveries over as the journal's", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cairn-rule-deliveries-v1-"));
    try {
      const path = join(dir, "rule-deliveries.db");
      const v1 = new Database(path);
      v1.exec(`
        CREATE TABLE rule_delivery_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL) STRICT;
        CREATE TABLE rule_deliveries (rule_arn TEXT NOT NULL, target_id TEXT NOT NULL, seq INTEGER NOT NULL,
          account_id TEXT NOT NULL, first_attempt_at_ms INTEGER NOT NULL, attempts_made INTEGER NOT NULL,
          next_attempt_at_ms INTEGER NOT NULL, last_error TEXT, last_http_status INTEGER, last_attempt_at_ms INTEGER,
          PRIMARY KEY (rule_arn, target_id, seq)) STRICT;
        CREATE INDEX rule_deliveries_by_due ON rule_deliveries (next_attempt_at_ms, seq);
        CREATE INDEX rule_deliveries_by_seq ON rule_deliveries (seq);
        INSERT INTO rule_delivery_cursor VALUES (1, 9);
        INSERT INTO rule_deliveries VALUES ('${RULE}', '1', 7, '111111111111', ${T0}, 0, ${T0}, NULL, NULL, NULL);
        PRAGMA user_version = 1;`);
      v1.close();
      const store = openSqliteRuleDeliveryStore(path);
      assert.equal(await store.cursor("journal"), 9);
      assert.equal(await store.cursor("sigma"), 0);
      assert.deepEqual(await store.due(T0, 10), [QUEUED_BEFORE]);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("PostgreSQL rule delivery store", { skip: postgresMissingReason() }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());
  ruleDeliveryStoreContractSuite(
    "PostgreSQL",
    postgresPlace(() => server, openPostgresRuleDeliveryStore),
  );

  it("migrates schema 2's cursor and deliveries to the journal's", async () => {
    const db = openPostgresDatabase({ url: (await server.createDatabase()).url });
    try {
      await migrate(db, "rule-deliveries", RULE_DELIVERIES_MIGRATIONS.slice(0, 2));
      await db.query("INSERT INTO cairn_rule_delivery_cursor (id, seq) VALUES (1, 9)");
      await db.query(
        `INSERT INTO cairn_rule_deliveries (rule_arn, target_id, seq, account_id, first_attempt_at_ms, attempts_made,
           next_attempt_at_ms) VALUES ($1, '1', 7, '111111111111', $2, 0, $2)`,
        [RULE, T0],
      );
      const store = await openPostgresRuleDeliveryStore(db);
      assert.equal(await store.cursor("journal"), 9);
      assert.equal(await store.cursor("sigma"), 0);
      assert.deepEqual(await store.due(T0, 10), [QUEUED_BEFORE]);
      await store.close();
    } finally {
      await db.close();
    }
  });
});
