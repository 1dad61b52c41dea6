import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  keyHash,
  openPostgresLakeCatalog,
  openSqliteLakeCatalog,
  type CommittedFile,
  type LakeCatalog,
} from "../../src/lake/catalog/index.js";
import { StoreUnavailableError } from "../../src/lib/transient-error.js";
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
const STORE = "0a000000-0000-4000-8000-00000000000a";

function committed(name: string, keys: readonly string[] = []): CommittedFile {
  return {
    path: `/lake/${STORE}/eventdate=2024-01-01/${name}.parquet`,
    edsId: STORE,
    rows: keys.length,
    keys: keys.map(keyHash),
  };
}

describe("PostgreSQL Lake catalog", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  /** A place's database, created when the place is first opened; every later open is another node on it. */
  const databases = new Map<string, TestDatabase>();
  before(async () => (server = await startPostgresServer()));
  after(async () => {
    for (const database of databases.values()) await database.drop();
    await server?.stop();
  });

  /** A handle on the place's database with a pool of its own, as each node of a cluster has. */
  async function openNode(place: string): Promise<LakeCatalog> {
    let database = databases.get(place);
    if (database === undefined) databases.set(place, (database = await server.createDatabase()));
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
  }

  lakeCatalogContractSuite("PostgresLakeCatalog", openNode);

  it("answers StoreUnavailableError while PostgreSQL is down, half-commits nothing, and serves again", async () => {
    const catalog = await openNode(randomUUID());
    try {
      await catalog.commitFiles([committed("a", ["k1"])], 10);
      await server.restart({
        whileDown: async () => {
          await assert.rejects(catalog.commitFiles([committed("b", ["k2"])], 20), StoreUnavailableError);
          await assert.rejects(catalog.hasKeys(STORE, [keyHash("k1")]), StoreUnavailableError);
        },
      });
      assert.equal(await catalog.cursor(), 10, "no reopen needed");
      assert.deepEqual(await catalog.storeFiles(STORE), [committed("a").path]);
      assert.deepEqual(await catalog.hasKeys(STORE, [keyHash("k1"), keyHash("k2")]), [true, false]);
      await catalog.commitFiles([committed("b", ["k2"])], 20);
      assert.equal(await catalog.cursor(), 20);
    } finally {
      await catalog.close();
    }
  });

  it("refuses NUL where it would store a name and finds nothing by a name holding one", async () => {
    const catalog = await openNode(randomUUID());
    try {
      await catalog.commitFiles([committed("a", ["k1"])]);
      await assert.rejects(catalog.commitFiles([committed("b\u0000", ["k2"])]), RangeError);
      await assert.rejects(catalog.commitFiles([{ ...committed("c"), edsId: "x\u0000" }]), RangeError);
      await assert.rejects(catalog.putDocument("queries", { id: "q\u0000", accountId: "111111111111" }), RangeError);
      // Replacing NUL would alias two names; SQLite keeps them apart, so a lookup must find nothing.
      await catalog.putDocument("queries", { id: "q\uFFFD", accountId: "111111111111" });
      assert.equal(await catalog.findDocument("queries", "q\u0000"), undefined);
      assert.deepEqual(await catalog.hasKeys(`${STORE}\u0000`, [keyHash("k1")]), [false]);
      assert.deepEqual(await catalog.storeFiles(`${STORE}\u0000`), []);
      assert.equal(await catalog.replaceFiles(committed("m"), [`${committed("a").path}\u0000`]), false);
      await catalog.forgetFiles([`${committed("a").path}\u0000`]);
      assert.deepEqual([...(await catalog.committedPaths())], [committed("a").path]);
    } finally {
      await catalog.close();
    }
  });
});
