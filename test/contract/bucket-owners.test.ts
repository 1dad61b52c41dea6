import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { after, before, describe, it } from "node:test";
import {
  openPostgresBucketOwnerStore,
  openSqliteBucketOwnerStore,
  type BucketOwnerStore,
} from "../../src/stores/bucket-owners/index.js";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { bucketOwnerStoreContractSuite } from "./bucket-owners.suite.js";

bucketOwnerStoreContractSuite("SQLite", async () => {
  const directory = await mkdtemp(join(tmpdir(), "cairn-bucket-owners-"));
  const opened: BucketOwnerStore[] = [];
  return {
    open() {
      const store = openSqliteBucketOwnerStore(join(directory, "bucket-owners.db"));
      opened.push(store);
      return store;
    },
    async cleanup() {
      for (const store of opened) await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
});

const STORE_MODULE = pathToFileURL(join(import.meta.dirname, "../../src/stores/bucket-owners/index.js")).href;
const BUCKETS = 300;

/**
 * One thread with its own connection: waits for the start signal, then claims every bucket for its
 * account as fast as it can and reports the owner each claim resolved to.
 */
const CLAIMER = `
const { parentPort, workerData } = require("node:worker_threads");
(async () => {
  const { openSqliteBucketOwnerStore } = await import(workerData.module);
  const store = openSqliteBucketOwnerStore(workerData.path);
  const start = new Int32Array(workerData.start);
  parentPort.postMessage("ready");
  Atomics.wait(start, 0, 0);
  const owners = [];
  for (let i = 0; i < workerData.buckets; i++) owners.push(await store.claim("race-" + i, workerData.account));
  await store.close();
  parentPort.postMessage(owners);
})().catch((error) => { throw error; });
`;

describe("SQLite bucket-owner store under real concurrency", () => {
  it("gives each bucket to exactly one of four threads racing on separate connections", async () => {
    const directory = await mkdtemp(join(tmpdir(), "cairn-bucket-owners-race-"));
    const path = join(directory, "bucket-owners.db");
    await openSqliteBucketOwnerStore(path).close();
    const start = new SharedArrayBuffer(4);
    const accounts = ["100000000001", "100000000002", "100000000003", "100000000004"];
    const workers = accounts.map(
      (account) =>
        new Worker(CLAIMER, {
          eval: true,
          workerData: { module: STORE_MODULE, path, start, account, buckets: BUCKETS },
        }),
    );
    try {
      const ready = workers.map((w) => new Promise((resolve) => w.once("message", resolve)));
      await Promise.all(ready);
      const results = workers.map(
        (w) =>
          new Promise<string[]>((resolve, reject) => {
            w.once("message", resolve);
            w.once("error", reject);
          }),
      );
      Atomics.store(new Int32Array(start), 0, 1);
      Atomics.notify(new Int32Array(start), 0);
      const answers = await Promise.all(results);
      const store = openSqliteBucketOwnerStore(path);
      try {
        for (let i = 0; i < BUCKETS; i++) {
          const owner = await store.ownerOf(`race-${i}`);
          assert.ok(owner !== undefined && accounts.includes(owner), `race-${i} has an owner`);
          for (const answer of answers) assert.equal(answer[i], owner, `every claim of race-${i} names its owner`);
        }
        const listed = (await Promise.all(accounts.map((a) => store.list(a)))).flat();
        assert.equal(listed.length, BUCKETS, "every bucket is listed under exactly one account");
      } finally {
        await store.close();
      }
      assert.equal((await stat(path)).mode & 0o777, 0o600);
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
      await rm(directory, { recursive: true, force: true });
    }
  });
});

const postgresMissing = postgresMissingReason();

describe("PostgreSQL bucket-owner store", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  /** A fresh database; each `open()` is another node: its own pool and store. */
  async function place() {
    const database = await server.createDatabase();
    const dbs: PostgresDatabase[] = [];
    const stores: BucketOwnerStore[] = [];
    return {
      async open() {
        const db = openPostgresDatabase({ url: database.url });
        dbs.push(db);
        const store = await openPostgresBucketOwnerStore(db);
        stores.push(store);
        return store;
      },
      async cleanup() {
        for (const store of stores) await store.close();
        for (const db of dbs) await db.close();
        await database.drop();
      },
    };
  }

  bucketOwnerStoreContractSuite("PostgreSQL", place);

  it("gives each bucket to exactly one of four nodes racing on their own connections", async () => {
    const subject = await place();
    try {
      const accounts = ["100000000001", "100000000002", "100000000003", "100000000004"];
      const nodes = await Promise.all(accounts.map(() => subject.open()));
      const buckets = Array.from({ length: 100 }, (_, i) => `race-${i}`);
      const answers = await Promise.all(
        nodes.map((node, n) => Promise.all(buckets.map((bucket) => node.claim(bucket, accounts[n]!)))),
      );
      for (const [i, bucket] of buckets.entries()) {
        const owner = await nodes[0]!.ownerOf(bucket);
        assert.ok(owner !== undefined && accounts.includes(owner), `${bucket} has an owner`);
        for (const answer of answers) assert.equal(answer[i], owner, `every claim of ${bucket} names its owner`);
      }
      const listed = (await Promise.all(accounts.map((account) => nodes[1]!.list(account)))).flat();
      assert.equal(listed.length, buckets.length, "every bucket is listed under exactly one account");
    } finally {
      await subject.cleanup();
    }
  });
});
