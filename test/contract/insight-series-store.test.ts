import { after, before, describe } from "node:test";
import { openPostgresInsightSeriesStore, openSqliteInsightSeriesStore } from "../../src/stores/insights/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { insightSeriesStoreContractSuite } from "./insight-series-store.suite.js";
import { itKeepsItsFilePrivate, postgresPlace, sqlitePlace } from "./store-places.js";

insightSeriesStoreContractSuite("SQLite", sqlitePlace("insights.db", openSqliteInsightSeriesStore));

describe("SQLite Insights series file", () => itKeepsItsFilePrivate("insights.db", openSqliteInsightSeriesStore));

describe("PostgreSQL Insights series", { skip: postgresMissingReason() }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());
  insightSeriesStoreContractSuite(
    "PostgreSQL",
    postgresPlace(() => server, openPostgresInsightSeriesStore),
  );
});
