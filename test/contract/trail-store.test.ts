import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import { openFileDeliveryStateStore } from "../../src/stores/trails/file-delivery-state-store.js";
import { openSqliteTrailStore } from "../../src/stores/trails/sqlite-trail-store.js";
import {
  openPostgresDeliveryStateStore,
  openPostgresTrailStore,
  type TrailConfig,
} from "../../src/stores/trails/index.js";
import { pollUntil } from "../helpers/poll.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { MemoryTrailStore } from "../consumers/trails/harness.js";
import { deliveryStateStoreContractSuite, trailStoreContractSuite } from "./trail-store.suite.js";

async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "cairn-trail-store-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

trailStoreContractSuite("SQLite", async () => {
  const { dir, cleanup } = await tempDir();
  return {
    async open(options) {
      const store = openSqliteTrailStore(join(dir, "control-plane.db"), options);
      return { store, close: async () => store.close() };
    },
    cleanup,
  };
});

// The in-memory double the delivery tests use: it keeps its data across "reopens" by being the same object.
trailStoreContractSuite("MemoryTrailStore (test double)", async () => {
  let store: MemoryTrailStore | undefined;
  return {
    async open(options) {
      store ??= new MemoryTrailStore(options.onListenerError);
      return { store, close: async () => undefined };
    },
    cleanup: async () => undefined,
  };
});

deliveryStateStoreContractSuite("files under <data-dir>/trails", async () => {
  const { dir, cleanup } = await tempDir();
  return { open: async () => ({ store: openFileDeliveryStateStore(dir), close: async () => undefined }), cleanup };
});

const postgresMissing = postgresMissingReason();

describe("PostgreSQL trail stores", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  /** A fresh database; every `open` is another node on it (its own pool), closed with its store. */
  async function freshDatabase<S extends { close(): Promise<void> }>(openStore: (db: PostgresDatabase) => Promise<S>) {
    const database = await server.createDatabase();
    return {
      async open() {
        const db = openPostgresDatabase({ url: database.url });
        const store = await openStore(db).catch(async (error: unknown) => {
          await db.close();
          throw error;
        });
        return {
          store,
          async close() {
            await store.close();
            await db.close();
          },
        };
      },
      cleanup: () => database.drop(),
    };
  }

  trailStoreContractSuite("PostgreSQL", async () => {
    let onListenerError: (error: unknown) => void = () => undefined;
    const backend = await freshDatabase((db) => openPostgresTrailStore(db, { onListenerError }));
    return {
      async open(options) {
        onListenerError = options.onListenerError;
        return backend.open();
      },
      cleanup: backend.cleanup,
    };
  });

  deliveryStateStoreContractSuite("PostgreSQL", () => freshDatabase(openPostgresDeliveryStateStore));

  it("tells a node's listeners of another node's committed writes, never of a refused one", async () => {
    const backend = await freshDatabase((db) => openPostgresTrailStore(db));
    const [writer, watcher] = [await backend.open(), await backend.open()];
    try {
      const seen: Array<Promise<string>> = [];
      watcher.store.onChange(() => seen.push(watcher.store.list().then((trails) => trails.map((t) => t.name).join())));
      await writer.store.create(baseTrail("xxx"));
      await writer.store.put(baseTrail("yyy"));
      await assert.rejects(
        writer.store.put({ ...baseTrail("zzz") }, () => {
          throw new RangeError("refused");
        }),
        RangeError,
      );
      await writer.store.delete("111122223333", "xxx");
      await writer.store.delete("111122223333", "never-existed");
      await writer.store.put(baseTrail("www"));
      await pollUntil(() => seen.length >= 4, { message: "four notifications on the other node" });
      assert.equal((await Promise.all(seen)).at(-1), "www,yyy", "what a listener reads includes the change");
      assert.equal(seen.length, 4, "a refused write and a delete of nothing notify nobody");
    } finally {
      await writer.close();
      await watcher.close();
      await backend.cleanup();
    }
  });

  it("listens again after PostgreSQL restarted, and calls the listeners once it does", async () => {
    const backend = await freshDatabase((db) => openPostgresTrailStore(db));
    const [writer, watcher] = [await backend.open(), await backend.open()];
    try {
      const reads: string[] = [];
      watcher.store.onChange(() => {
        watcher.store.list().then(
          (trails) => reads.push(trails.map((t) => t.name).join()),
          () => undefined,
        );
      });
      await server.restart();
      // The writer's pool reconnects on its next statement; the first may meet the restart.
      await pollUntil(
        () =>
          writer.store.put(baseTrail("after-restart")).then(
            () => true,
            () => false,
          ),
        {
          intervalMs: 100,
          message: "the writer to reach the restarted server",
        },
      );
      await pollUntil(() => reads.includes("after-restart"), {
        message: "the other node's listener to read the write made after the restart",
      });
    } finally {
      await writer.close();
      await watcher.close();
      await backend.cleanup();
    }
  });

  it("finds no trail under a key carrying NUL, which PostgreSQL text cannot hold, and refuses to store one", async () => {
    const backend = await freshDatabase((db) => openPostgresTrailStore(db));
    const states = await freshDatabase(openPostgresDeliveryStateStore);
    const [{ store, close }, stateHandle] = [await backend.open(), await states.open()];
    try {
      await store.put(baseTrail("kept"));
      const arn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/k\u0000";
      assert.equal(await store.get("111122223333", "k\u0000"), undefined);
      assert.deepEqual(await store.list("1111\u0000"), []);
      assert.deepEqual(await store.status(arn), {});
      await store.updateStatus(arn, { latestDeliveryTimeMs: 1 });
      await store.delete("111122223333", "k\u0000");
      await assert.rejects(store.put(baseTrail("k\u0000")), RangeError);
      await assert.rejects(store.create(baseTrail("k\u0000")), RangeError);
      await assert.rejects(stateHandle.store.load(arn), RangeError);
      assert.deepEqual(
        (await store.list()).map((t) => t.name),
        ["kept"],
      );
    } finally {
      await close();
      await stateHandle.close();
      await backend.cleanup();
      await states.cleanup();
    }
  });

  it("keeps a delivery error carrying NUL, which JSONB cannot hold", async () => {
    const backend = await freshDatabase((db) => openPostgresTrailStore(db));
    const { store, close } = await backend.open();
    try {
      const arn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/nul";
      await store.create({ ...baseTrail("nul"), trailArn: arn });
      await store.updateStatus(arn, { latestDeliveryError: "bad\u0000byte", latestDeliveryAttemptTimeMs: 3 });
      assert.deepEqual(await store.status(arn), {
        latestDeliveryError: "bad\uFFFDbyte",
        latestDeliveryAttemptTimeMs: 3,
      });
    } finally {
      await close();
      await backend.cleanup();
    }
  });
});

function baseTrail(name: string): TrailConfig {
  return {
    accountId: "111122223333",
    name,
    homeRegion: "us-east-1",
    trailArn: `arn:aws:cloudtrail:us-east-1:111122223333:trail/${name}`,
    s3BucketName: "bucket",
    includeGlobalServiceEvents: true,
    isMultiRegionTrail: false,
    isOrganizationTrail: false,
    logFileValidationEnabled: false,
    hasCustomEventSelectors: false,
    tags: [],
    isLogging: false,
    createdAtMs: 1,
  };
}
