import { after, before, describe } from "node:test";
import { openPostgresSnsStore, openSqliteSnsStore } from "../../src/stores/sns/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { snsStoreContractSuite } from "./sns-store.suite.js";
import { itKeepsItsFilePrivate, postgresPlace, sqlitePlace } from "./store-places.js";

snsStoreContractSuite("SQLite", sqlitePlace("sns.db", openSqliteSnsStore));

describe("SQLite SNS store file", () => itKeepsItsFilePrivate("sns.db", openSqliteSnsStore));

describe("PostgreSQL SNS store", { skip: postgresMissingReason() }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());
  snsStoreContractSuite(
    "PostgreSQL",
    postgresPlace(() => server, openPostgresSnsStore),
  );
});
