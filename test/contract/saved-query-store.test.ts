import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  importPostgresSavedQueries,
  openPostgresSavedQueryStore,
  openSqliteSavedQueryStore,
  readSqliteSavedQueries,
} from "../../src/stores/saved-queries/index.js";
import { openPostgresDatabase } from "../../src/stores/postgres/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { itKeepsItsFilePrivate, postgresPlace, sqlitePlace } from "./store-places.js";
import { savedQueryStoreContractSuite } from "./saved-query-store.suite.js";

savedQueryStoreContractSuite("SQLite", sqlitePlace("saved-queries.db", openSqliteSavedQueryStore));

describe("SQLite saved-query store file", () => itKeepsItsFilePrivate("saved-queries.db", openSqliteSavedQueryStore));

const postgresMissing = postgresMissingReason();

describe("PostgreSQL saved-query store", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  savedQueryStoreContractSuite(
    "PostgreSQL",
    postgresPlace(() => server, openPostgresSavedQueryStore),
  );

  it("imports an embedded store's queries once (cairn migrate --to-cluster), keeping the cluster's own", async () => {
    const directory = await mkdtemp(join(tmpdir(), "cairn-saved-queries-import-"));
    const file = join(directory, "saved-queries.db");
    const database = await server.createDatabase();
    const db = openPostgresDatabase({ url: database.url });
    try {
      const embedded = openSqliteSavedQueryStore(file);
      const owner = "arn:aws:iam::111111111111:user/alice";
      const query = (name: string, statement: string) => ({
        ...{ accountId: "111111111111", owner, name, statement },
        ...{ createdMs: 1, updatedMs: 2 },
      });
      await embedded.put({ ...query("a", "SELECT 1"), description: "d" }, 10);
      await embedded.put(query("b", "SELECT 2"), 10);
      const cluster = await openPostgresSavedQueryStore(db);
      await cluster.put(query("b", "cluster's"), 10);
      await embedded.close();
      const rows = readSqliteSavedQueries(file);
      assert.equal(rows.length, 2);
      assert.deepEqual(readSqliteSavedQueries(join(directory, "absent.db")), []);
      assert.equal(await importPostgresSavedQueries(db, rows), 1);
      assert.equal(await importPostgresSavedQueries(db, rows), 0);
      const listed = await cluster.list("111111111111", owner, { max: 10 });
      assert.deepEqual(
        listed.queries.map((q) => [q.name, q.statement, q.description]),
        [
          ["a", "SELECT 1", "d"],
          ["b", "cluster's", undefined],
        ],
      );
      await cluster.close();
    } finally {
      await rm(directory, { recursive: true, force: true });
      await db.close();
      await database.drop();
    }
  });
});
