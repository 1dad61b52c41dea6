import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { FileCursorStore, openPostgresCursorStores } from "../../src/stores/cursors/index.js";
import { openPostgresDatabase } from "../../src/stores/postgres/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { cursorStoreContractSuite } from "./cursor-store.suite.js";

cursorStoreContractSuite("FileCursorStore", async () => {
  const directory = await mkdtemp(join(tmpdir(), "cairn-cursor-"));
  return {
    open: () => new FileCursorStore(join(directory, "cursor")),
    cleanup: () => rm(directory, { recursive: true, force: true }),
  };
});

describe("FileCursorStore specifics", () => {
  let directory: string;
  beforeEach(async () => (directory = await mkdtemp(join(tmpdir(), "cairn-cursor-"))));
  afterEach(() => rm(directory, { recursive: true, force: true }));

  it("keeps the cursor as one decimal line and no temp file beside it", async () => {
    const store = new FileCursorStore(join(directory, "cursor"));
    await store.save(41);
    await store.save(42);
    assert.equal(await readFile(join(directory, "cursor"), "utf8"), "42\n");
    assert.deepEqual(await readdir(directory), ["cursor"]);
  });

  it("refuses to load a damaged cursor file rather than restart from 0", async () => {
    for (const damaged of ["forty-two\n", "-3\n", "1.5\n"]) {
      await writeFile(join(directory, "cursor"), damaged);
      await assert.rejects(new FileCursorStore(join(directory, "cursor")).load(), /damaged/, JSON.stringify(damaged));
    }
  });
});

const postgresMissing = postgresMissingReason();

describe("PostgreSQL cursor store", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  /** A fresh database; each `open()` is a new pool on it, as a restarted node would have. */
  async function place(consumer = "lake-writer") {
    const database = await server.createDatabase();
    const dbs: ReturnType<typeof openPostgresDatabase>[] = [];
    const stores = async () => {
      const db = openPostgresDatabase({ url: database.url });
      dbs.push(db);
      return openPostgresCursorStores(db);
    };
    const first = await stores();
    return {
      first,
      stores,
      open: () => first.forConsumer(consumer),
      async cleanup() {
        for (const db of dbs) await db.close();
        await database.drop();
      },
    };
  }

  cursorStoreContractSuite("PostgreSQL", () => place());

  describe("PostgreSQL cursor store specifics", () => {
    it("keeps each consumer's cursor apart and shares it with another node", async () => {
      const { first, stores, cleanup } = await place();
      try {
        await first.forConsumer("lake-writer").save(10);
        await first.forConsumer("trail-delivery:arn:aws:cloudtrail:us-east-1:123456789012:trail/t").save(20);
        const otherNode = await stores();
        assert.equal(await otherNode.forConsumer("lake-writer").load(), 10);
        assert.equal(
          await otherNode.forConsumer("trail-delivery:arn:aws:cloudtrail:us-east-1:123456789012:trail/t").load(),
          20,
        );
        assert.equal(await otherNode.forConsumer("event-history").load(), 0);
      } finally {
        await cleanup();
      }
    });

    it("refuses an empty or overlong consumer name", async () => {
      const { first, cleanup } = await place();
      try {
        assert.throws(() => first.forConsumer(""), RangeError);
        assert.throws(() => first.forConsumer("x".repeat(2_049)), RangeError);
      } finally {
        await cleanup();
      }
    });
  });
});
