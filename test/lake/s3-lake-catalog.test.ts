import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  keyHash,
  LakeFencedError,
  openPostgresLakeCatalog,
  type EventDataStore,
  type ImportFailure,
  type LakeCatalog,
} from "../../src/lake/catalog/index.js";
import { LakeFileCache } from "../../src/lake/s3/lake-file-cache.js";
import { manifestKey, openS3LakeCatalog, type S3LakeCatalog } from "../../src/lake/s3/s3-lake-catalog.js";
import { openPostgresLeaseStore, type LeaseStore } from "../../src/stores/lease/index.js";
import {
  createS3ObjectStore,
  ObjectStoreError,
  type ObjectStore,
  type PutObjectOptions,
} from "../../src/stores/objects/index.js";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { motoMissingReason, startMotoServer, type MotoServer } from "../storage/moto-server.js";
import { eventDataStoreFixture } from "../helpers/event-data-store.js";

const missing = postgresMissingReason() || motoMissingReason();
if (missing)
  process.stderr.write(`\n*** SKIPPED LOUDLY: the Lake-on-S3 tests need PostgreSQL and moto: ${missing} ***\n\n`);

const BUCKET = "cairn-lake-test";
const EDS = "eds-s3";
const PARTITION = "eventdate=2026-01-02";

function store(): EventDataStore {
  return eventDataStoreFixture({
    ...{ id: EDS, accountId: "111122223333", name: "s3", arn: `arn:eds/${EDS}` },
    ...{ advancedEventSelectors: [], retentionPeriod: 7 },
  });
}

function importFailure(location: string): ImportFailure {
  return { Location: location, Status: "FAILED", ErrorType: "unreadable", ErrorMessage: "x", LastUpdatedTime: 1 };
}

describe("the Lake on S3: upload before commit, manifests, the janitor's grace", { skip: missing }, () => {
  let postgres: PostgresServer;
  let moto: MotoServer;
  let db: PostgresDatabase;
  let objects: ObjectStore;
  let leases: LeaseStore;
  let dropDatabase: () => Promise<void>;
  const dirs: string[] = [];

  before(async () => {
    postgres = await startPostgresServer();
    moto = await startMotoServer();
    const database = await postgres.createDatabase();
    dropDatabase = () => database.drop();
    db = openPostgresDatabase({ url: database.url });
    leases = await openPostgresLeaseStore(db);
    objects = createS3ObjectStore({
      endpoint: moto.endpoint,
      region: "us-east-1",
      accessKeyId: "testing",
      secretAccessKey: "testing",
      forcePathStyle: true,
      timeoutMs: 10_000,
    });
  });
  after(async () => {
    await db?.close();
    await dropDatabase?.();
    await postgres?.stop();
    await moto?.stop();
    dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  });

  /** A node's view: its own lake dir and cache over the shared catalog and bucket; `store` may fail puts. */
  async function node(options: { inner?: LakeCatalog; store?: ObjectStore } = {}): Promise<S3LakeCatalog> {
    const lakeDir = mkdtempSync(join(tmpdir(), "cairn-s3-lake-"));
    dirs.push(lakeDir);
    const bucket = { store: options.store ?? objects, bucket: BUCKET };
    const cache = new LakeFileCache({
      lakeDir,
      maxBytes: 1 << 30,
      fetch: async (key) => (await objects.getObject(BUCKET, key))?.body,
      remoteSize: async () => undefined,
    });
    const inner = options.inner ?? (await openPostgresLakeCatalog(db));
    const catalog = await openS3LakeCatalog({ inner, db, bucket, cache });
    await catalog.putStore(store());
    return catalog;
  }

  /** A file the writer would have written at `<lakeDir>/<eds>/<partition>/<name>.parquet`. */
  function written(catalog: S3LakeCatalog, name: string, partition = PARTITION): string {
    const path = catalog.cache.pathOf(`${EDS}/${partition}/${name}.parquet`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, randomBytes(64));
    return path;
  }

  async function manifest(partition = PARTITION): Promise<string[] | undefined> {
    const object = await objects.getObject(BUCKET, manifestKey(EDS, partition));
    return object?.body.toString("utf8").split("\n").filter(Boolean);
  }

  const keysOf = async (catalog: LakeCatalog): Promise<string[]> =>
    (await catalog.storeFiles(EDS)).map((path) => path.slice(path.indexOf(`${EDS}/`)));

  it("uploads every file before the catalog commits it, and lists it in the partition's manifest", async () => {
    const catalog = await node();
    const path = written(catalog, "live-000000000001-000000000002");
    await catalog.commitFiles([{ path, edsId: EDS, rows: 2, keys: [keyHash("a"), keyHash("b")] }], 2);
    const keys = await keysOf(catalog);
    assert.equal(keys.length, 1);
    assert.match(keys[0]!, new RegExp(`^${EDS}/${PARTITION}/live-000000000001-000000000002-[0-9a-f]{8}\\.parquet$`));
    assert.ok(await objects.getObject(BUCKET, keys[0]!), "the committed file is in the bucket");
    assert.deepEqual(await manifest(), [`s3://${BUCKET}/${keys[0]}`]);
    assert.equal(await catalog.cursor(), 2);

    // An upload that fails: the catalog is not touched (no file, no cursor move).
    const failing: ObjectStore = Object.assign(Object.create(objects) as ObjectStore, {
      putObject: () => Promise.reject(new Error("S3 is down")),
    });
    const down = await node({ store: failing });
    const other = written(down, "live-000000000003-000000000004");
    await assert.rejects(
      down.commitFiles([{ path: other, edsId: EDS, rows: 1, keys: [keyHash("c")] }], 4),
      /S3 is down/,
    );
    assert.equal(await catalog.cursor(), 2);
    assert.deepEqual(await keysOf(catalog), keys);
    assert.deepEqual(await catalog.hasKeys(EDS, [keyHash("c")]), [false]);
  });

  it("refuses a stale holder's commit in PostgreSQL; the janitor deletes its upload after the grace", async () => {
    const current = await leases.acquire("lake-writer", "zombie", 15_000);
    assert.ok(current);
    // The lease passes on (released, then taken by another holder): the zombie's token is stale.
    await leases.release(current);
    assert.ok(await leases.acquire("lake-writer", "new-holder", 15_000));
    const zombie = await node({ inner: await openPostgresLakeCatalog(db, { current: () => current }) });
    const path = written(zombie, "live-000000000005-000000000006");
    const before = await keysOf(zombie);
    await assert.rejects(
      zombie.commitFiles([{ path, edsId: EDS, rows: 1, keys: [keyHash("z")] }], 6),
      (error: unknown) => error instanceof LakeFencedError,
    );
    assert.deepEqual(await keysOf(zombie), before, "nothing committed");
    assert.notEqual(await zombie.cursor(), 6);
    const orphans = (await objects.listObjects(BUCKET, { prefix: `${EDS}/${PARTITION}/live-000000000005` })).objects;
    assert.equal(orphans.length, 1, "the upload happened, the commit did not");
    // Within the grace nothing goes; past it the orphan does, committed files stay.
    assert.equal((await zombie.janitor(3_600_000, Date.now())).orphansDeleted, 0);
    const report = await zombie.janitor(0, Date.now() + 60_000);
    assert.equal(report.orphansDeleted, 1);
    assert.equal(await objects.getObject(BUCKET, orphans[0]!.key), undefined);
    for (const key of before) assert.ok(await objects.getObject(BUCKET, key), `${key} kept`);
  });

  it("fences every file change of a holder whose lease passed on, and lets the current holder's through", async () => {
    const old = await leases.acquire("lake-writer-fence-test", "fence-old", 15_000);
    assert.ok(old);
    await leases.release(old);
    const now = await leases.acquire("lake-writer-fence-test", "fence-new", 15_000);
    assert.ok(now && now.fencingToken > old.fencingToken);
    const stale = await openPostgresLakeCatalog(db, { current: () => old });
    const gone = await openPostgresLakeCatalog(db, { current: () => undefined });
    const fresh = await openPostgresLakeCatalog(db, { current: () => now });
    const file = { path: `${EDS}/${PARTITION}/fenced.parquet`, edsId: EDS, rows: 1, keys: [keyHash("f")] };
    const fenced = (error: unknown): boolean => error instanceof LakeFencedError;
    for (const catalog of [stale, gone]) {
      await assert.rejects(catalog.commitFiles([file], 99), fenced);
      await assert.rejects(
        catalog.replaceFiles({ ...file, path: `${EDS}/${PARTITION}/m.parquet` }, [file.path]),
        fenced,
      );
      await assert.rejects(catalog.forgetFiles([file.path]), fenced);
      await assert.rejects(catalog.deleteStore(EDS), fenced);
      // A superseded node still running an import adds no failure to the run the new holder began.
      await assert.rejects(catalog.addImportFailures("import-fenced", [importFailure("late")]), fenced);
      await assert.rejects(catalog.clearImportFailures("import-fenced"), fenced);
    }
    assert.ok(await fresh.store(EDS), "the refused purge changed nothing");
    await fresh.addImportFailures("import-fenced", [importFailure("mine")]);
    assert.deepEqual(await fresh.importFailures("import-fenced", 0, 10), [importFailure("mine")]);
    await fresh.clearImportFailures("import-fenced");
    assert.deepEqual(await fresh.importFailures("import-fenced", 0, 10), []);
    await fresh.commitFiles([file], 99);
    assert.equal(await fresh.cursor(), 99);
    await fresh.forgetFiles([file.path]);
    await leases.release(now);
  });

  it("swaps compaction's merged file in, retires the replaced ones, and deletes them only after the grace", async () => {
    const catalog = await node();
    const paths = ["live-000000000007-000000000007", "live-000000000008-000000000008"].map((n) => written(catalog, n));
    for (const [i, path] of paths.entries())
      await catalog.commitFiles([{ path, edsId: EDS, rows: 1, keys: [keyHash(`m${i}`)] }]);
    const before = await catalog.storeFiles(EDS);
    const replaced = before.filter((p) => p.includes("live-00000000000"));
    const merged = written(catalog, `compact-${randomBytes(4).toString("hex")}`);

    // A swap that loses (a replaced file is no longer committed) withdraws its retirement and its upload.
    const lost = await catalog.replaceFiles({ path: merged, edsId: EDS, rows: 9 }, [
      ...replaced,
      catalog.cache.pathOf(`${EDS}/${PARTITION}/gone.parquet`),
    ]);
    assert.equal(lost, false);
    assert.deepEqual(await db.query("SELECT key FROM cairn_lake_retired"), []);
    assert.equal(await objects.getObject(BUCKET, catalog.cache.keyOf(merged)), undefined);

    assert.equal(await catalog.replaceFiles({ path: merged, edsId: EDS, rows: replaced.length }, replaced), true);
    const mergedKey = catalog.cache.keyOf(merged);
    const listed = (await manifest())!;
    assert.ok(listed.includes(`s3://${BUCKET}/${mergedKey}`));
    for (const path of replaced) assert.ok(!listed.includes(`s3://${BUCKET}/${catalog.cache.keyOf(path)}`));
    assert.equal(listed.length, (await catalog.storeFiles(EDS)).length, "the manifest is the catalog's list");

    // Within the grace, the replaced objects stay (an engine that read the old manifest can read them).
    assert.equal((await catalog.janitor(3_600_000, Date.now())).retiredDeleted, 0);
    for (const path of replaced) assert.ok(await objects.getObject(BUCKET, catalog.cache.keyOf(path)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await catalog.janitor(10, Date.now())).retiredDeleted, replaced.length);
    for (const path of replaced) assert.equal(await objects.getObject(BUCKET, catalog.cache.keyOf(path)), undefined);
    assert.ok(await objects.getObject(BUCKET, mergedKey), "the merged file stays");
    assert.deepEqual(await db.query("SELECT key FROM cairn_lake_retired"), []);
    assert.ok(existsSync(merged));
  });

  it("refuses the manifest a superseded holder built from a stale read; the new holder's list stands", async () => {
    const partition = "eventdate=2026-01-03";
    const key = manifestKey(EDS, partition);
    // The zombie's first manifest PUT waits here: it has read the catalog, then pauses (a SIGSTOP).
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let pause!: () => void;
    const paused = new Promise<void>((resolve) => (pause = resolve));
    const puts: Array<{ body: string; outcome: string }> = [];
    const pausing: ObjectStore = Object.assign(Object.create(objects) as ObjectStore, {
      async putObject(bucket: string, objectKey: string, body: Buffer, options?: PutObjectOptions) {
        if (objectKey !== key) return objects.putObject(bucket, objectKey, body, options);
        if (puts.length === 0) {
          pause();
          await gate;
        }
        const outcome = await objects.putObject(bucket, objectKey, body, options).then(
          () => "written",
          (error: unknown) => (error instanceof ObjectStoreError ? error.code : String(error)),
        );
        puts.push({ body: body.toString("utf8"), outcome });
        if (outcome !== "written") throw new ObjectStoreError(`manifest ${outcome}`, outcome);
      },
    });
    const old = await leases.acquire("lake-writer-manifest-test", "zombie", 15_000);
    assert.ok(old);
    const zombie = await node({ store: pausing, inner: await openPostgresLakeCatalog(db, { current: () => old }) });
    const mine = written(zombie, "live-000000000020-000000000020", partition);
    const committing = zombie.commitFiles([{ path: mine, edsId: EDS, rows: 1, keys: [keyHash("z20")] }]);
    await paused;
    // Committed and its list read ({mine}); meanwhile the lease passes on and the new holder
    // commits to the same partition and writes the manifest listing both files.
    await leases.release(old);
    const now = await leases.acquire("lake-writer-manifest-test", "holder", 15_000);
    assert.ok(now);
    const holder = await node({ inner: await openPostgresLakeCatalog(db, { current: () => now }) });
    const theirs = written(holder, "live-000000000021-000000000021", partition);
    await holder.commitFiles([{ path: theirs, edsId: EDS, rows: 1, keys: [keyHash("z21")] }]);
    const both = (await keysOf(holder))
      .filter((k) => k.startsWith(`${EDS}/${partition}/`))
      .map((k) => `s3://${BUCKET}/${k}`);
    assert.equal(both.length, 2);
    assert.deepEqual(await manifest(partition), both, "the new holder's manifest lists both files");

    release();
    await committing;
    const stale = both.filter((line) => line.includes("/live-000000000020-"));
    assert.equal(puts.length, 2);
    assert.deepEqual(puts[0], { body: `${stale[0]}\n`, outcome: "PreconditionFailed" }, "the stale list is refused");
    assert.deepEqual(puts[1], { body: both.map((line) => `${line}\n`).join(""), outcome: "written" });
    assert.deepEqual(await manifest(partition), both, "the manifest still lists the new holder's file");
    await leases.release(now);
  });

  it("forgets a partition (retention) and removes its manifest", async () => {
    const catalog = await node();
    const files = await catalog.storeFiles(EDS);
    await catalog.forgetFiles(files);
    assert.equal(await manifest(), undefined, "no manifest for a partition without committed files");
    const retired = await db.query<{ key: string }>("SELECT key FROM cairn_lake_retired ORDER BY key");
    assert.equal(retired.length, files.length);
  });
});
