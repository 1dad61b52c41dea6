import { join } from "node:path";
import { after, before, describe } from "node:test";
import { openPostgresLakeCatalog, openSqliteLakeCatalog, type LakeCatalog } from "../../src/lake/catalog/index.js";
import { openPostgresDatabase } from "../../src/stores/postgres/index.js";
import {
  postgresMissingReason,
  startPostgresServer,
  type PostgresServer,
  type TestDatabase,
} from "../helpers/postgres-server.js";
import { lakeCatalogContractSuite } from "./lake-catalog.suite.js";

lakeCatalogContractSuite("SqliteLakeCatalog", (place) => openSqliteLakeCatalog(join(place, "lake.db")));

const postgresMissing = postgresMissingReason();

describe("PostgreSQL Lake catalog", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  /** A place's database, created when the place is first opened; every later open is another node on it. */
  const databases = new Map<string, TestDatabase>();
  before(async () => (server = await startPostgresServer()));
  after(async () => {
    for (const database of databases.values()) await database.drop();
    await server?.stop();
  });

  lakeCatalogContractSuite("PostgresLakeCatalog", async (place): Promise<LakeCatalog> => {
    let database = databases.get(place);
    if (database === undefined) databases.set(place, (database = await server.createDatabase()));
    // Each handle has its own pool, as each node of a cluster has; closing the handle closes its pool.
    const db = openPostgresDatabase({ url: database.url });
    const catalog = await openPostgresLakeCatalog(db).catch(async (error: unknown) => {
      await db.close();
      throw error;
    });
    // The catalog with a close() that also closes the pool (the catalog itself leaves it to its owner).
    return Object.assign(Object.create(catalog) as LakeCatalog, {
      async close() {
        await catalog.close();
        await db.close();
      },
    });
  });
});
