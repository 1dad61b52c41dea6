import { after, before, describe } from "node:test";
import { openPostgresRuleDeliveryStore, openSqliteRuleDeliveryStore } from "../../src/stores/rule-deliveries/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { ruleDeliveryStoreContractSuite } from "./rule-delivery-store.suite.js";
import { itKeepsItsFilePrivate, postgresPlace, sqlitePlace } from "./store-places.js";

ruleDeliveryStoreContractSuite("SQLite", sqlitePlace("rule-deliveries.db", openSqliteRuleDeliveryStore));

describe("SQLite rule delivery store file", () =>
  itKeepsItsFilePrivate("rule-deliveries.db", openSqliteRuleDeliveryStore));

describe("PostgreSQL rule delivery store", { skip: postgresMissingReason() }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());
  ruleDeliveryStoreContractSuite(
    "PostgreSQL",
    postgresPlace(() => server, openPostgresRuleDeliveryStore),
  );
});
