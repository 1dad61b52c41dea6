import { join } from "node:path";
import { LakeConsumer } from "../../consumers/lake-writer/lake-consumer.js";
import { LakeWriterLease } from "../../consumers/lake-writer/lake-writer-lease.js";
import { StoreRouter } from "../../consumers/lake-writer/store-router.js";
import { quarantineFor } from "../../consumers/quarantine.js";
import { ConsumerRunner } from "../../consumers/runner.js";
import type { Consumer, ConsumerStatus } from "../../consumers/consumer.js";
import { runImportDocument } from "../../control-plane/lake/import-operations.js";
import type { ImportDocument } from "../../control-plane/lake/import/import-runner.js";
import type { QueryCluster, QueryDocument } from "../../control-plane/lake/query-runtime.js";
import { registerPutAuditEventsRoute } from "../../http/routes/put-audit-events-route.js";
import { openPostgresLakeCatalog, type LakeCatalog } from "../../lake/catalog/index.js";
import { compactionFromEnv, compactionTask, Compactor, FileSnapshots } from "../../lake/compaction/compaction.js";
import { recoverLakeDir, sweepLake } from "../../lake/compaction/lake-maintenance.js";
import { openDuck } from "../../lake/engine/query-engine.js";
import { WarmViews } from "../../lake/engine/warm-views.js";
import { LakeFileCache } from "../../lake/s3/lake-file-cache.js";
import { openS3LakeCatalog, type LakeBucket, type S3LakeCatalog } from "../../lake/s3/s3-lake-catalog.js";
import type { LeaseStore } from "../../stores/lease/index.js";
import type { PostgresDatabase } from "../../stores/postgres/index.js";
import type { CairnModule, ModuleContext } from "../registry.js";
import { errorTextForHealth } from "../../lib/error-text.js";
import {
  channelRegistry,
  importDeps,
  lakeOperations,
  MaintenanceQueue,
  operationDeps,
  type Duck,
} from "./lake-module.js";

const SWEEP_INTERVAL_MS = 3_600_000;
/** How often the lease holder looks for imports StartImport recorded on any node. */
const IMPORT_POLL_MS = 1_000;
/** A query still QUEUED or RUNNING this long after it started ran on a node that stopped (timeout 1 h). */
const ORPHAN_QUERY_MS = 3_900_000;
const RESULTS_PREFIX = "_results/";

/**
 * The Lake in cluster mode (decision 0015): every node serves the whole Lake API over the
 * PostgreSQL catalog and reads Parquet from the lake bucket through its bounded local cache; the
 * node holding the `lake-writer` lease alone runs the live writer, compaction, retention, the
 * bucket janitor and imports, and its catalog commits carry the lease's fencing token.
 */
export function clusterLakeModule(
  stores: { db: PostgresDatabase; leases: LeaseStore; lakeCatalog: LakeCatalog },
  nodeId: string,
): CairnModule {
  return {
    name: "lake",
    async start(context) {
      const { settings } = context;
      const lakeDir = join(settings.dataDir, "lake");
      const bucket: LakeBucket = { store: context.buckets.store, bucket: settings.lakeBucket };
      const cache = newCache(bucket, lakeDir, settings.lakeCacheBytes);
      const catalog = await openS3LakeCatalog({ inner: stores.lakeCatalog, db: stores.db, bucket, cache });
      await cache.adoptDirectory(await recoverLakeDir(catalog, lakeDir, nodeId));
      const duck = await openDuck(lakeDir);
      const router = await StoreRouter.load(catalog);
      const snapshots = new FileSnapshots(catalog, cache);
      const warmViews = new WarmViews(duck, lakeDir);
      const base = operationDeps(context, catalog, router);
      const queries = queryCluster(nodeId, bucket, catalog);
      const operations = await lakeOperations(
        context,
        base,
        { duck, lakeDir, snapshots, warmViews },
        { queries, leasedImports: true },
      );
      const work = new HolderWork(context, { ...stores, bucket, cache, duck, lakeDir, snapshots, nodeId });
      const lease: LakeWriterLease = new LakeWriterLease(stores.leases, nodeId, {
        onGained: async (): Promise<void> => work.start(await openPostgresLakeCatalog(stores.db, lease), lease),
        onLost: async (reason, graceful) => work.stop(reason, graceful),
        report: (error) => context.onInternalError(error),
      });
      // The writer's committed cursor as the catalog has it, so that a node not running the writer
      // still keeps in its journal retention floor what the writer (on another node) has not committed.
      let sharedCursor = await catalog.cursor();
      const tick = async (): Promise<void> => {
        await lease.tick();
        sharedCursor = await catalog.cursor().catch(() => sharedCursor);
      };
      await tick();
      const timer = setInterval(() => void tick(), lease.renewEveryMs);
      return {
        operations,
        routes: (app, routeContext) => registerPutAuditEventsRoute(app, routeContext, channelRegistry(catalog, base)),
        consumers: () =>
          work.consumers() ?? [{ name: "lake-writer", cursor: sharedCursor, neededFromSeq: sharedCursor + 1 }],
        // One writer cursor serves every event data store (a store created later starts at the head,
        // above it); read fresh, as the holder (this node or another) committed it.
        clusterFloor: async () => (await stores.lakeCatalog.cursor()) + 1,
        health: () => ({ nodeId, lakeWriterLease: lease.held(), cache: cache.stats, ...work.health() }),
        leasesHeld: () => (lease.held() ? ["lake-writer"] : []),
        banner: () => [
          `  lake:             s3 bucket ${settings.lakeBucket}, local cache ${settings.lakeCacheBytes} bytes`,
        ],
        async close() {
          clearInterval(timer);
          await lease.release();
          await snapshots.deleteUnread();
          warmViews.close();
          duck.closeSync();
          // The catalog's PostgreSQL handle belongs to the node's stores, which close it.
        },
      };
    },
  };
}

function newCache(bucket: LakeBucket, lakeDir: string, maxBytes: number): LakeFileCache {
  return new LakeFileCache({
    lakeDir,
    maxBytes,
    fetch: async (key) => (await bucket.store.getObject(bucket.bucket, key))?.body,
    remoteSize: async (key) => {
      const page = await bucket.store.listObjects(bucket.bucket, { prefix: key, maxKeys: 1 });
      const object = page.objects[0];
      return object?.key === key ? object.sizeBytes : undefined;
    },
  });
}

function queryCluster(nodeId: string, bucket: LakeBucket, catalog: S3LakeCatalog): QueryCluster {
  return {
    nodeId,
    results: {
      put: (queryId, body) =>
        bucket.store.putObject(bucket.bucket, `${RESULTS_PREFIX}${queryId}.json`, body, {
          contentType: "application/json",
        }),
      get: async (queryId) => (await bucket.store.getObject(bucket.bucket, `${RESULTS_PREFIX}${queryId}.json`))?.body,
    },
    requestCancel: (queryId) => catalog.requestCancel(queryId),
    cancelRequested: (queryId) => catalog.cancelRequested(queryId),
  };
}

interface HolderDeps {
  readonly db: PostgresDatabase;
  readonly lakeCatalog: LakeCatalog;
  readonly bucket: LakeBucket;
  readonly cache: LakeFileCache;
  readonly duck: Duck;
  readonly lakeDir: string;
  readonly snapshots: FileSnapshots;
  readonly nodeId: string;
}

/** What runs while this node holds the lease, and nothing of it once the lease is lost. */
interface Running {
  readonly catalog: S3LakeCatalog;
  readonly consumer: LakeConsumer;
  readonly runner: ConsumerRunner;
  readonly compactor: Compactor;
  readonly maintenance: MaintenanceQueue;
  readonly timers: NodeJS.Timeout[];
  readonly imports: Map<string, Promise<void>>;
}

/** The lease holder's work: the live writer, flush, compaction, retention, the janitor, imports. */
class HolderWork {
  private running: Running | undefined;
  private readonly errors = new Map<string, string>();
  private lastOrphanSweepMs = 0;

  constructor(
    private readonly context: ModuleContext,
    private readonly deps: HolderDeps,
  ) {}

  async start(fenced: LakeCatalog, lease: LakeWriterLease): Promise<void> {
    const { context, deps } = this;
    const catalog = await openS3LakeCatalog({ inner: fenced, db: deps.db, bucket: deps.bucket, cache: deps.cache });
    const router = await StoreRouter.load(catalog);
    const quarantine = quarantineFor(context.quarantine, "lake-writer", context.clock, (line) =>
      process.stderr.write(line),
    );
    const consumer = new LakeConsumer({ catalog, duck: deps.duck, router, lakeDir: deps.lakeDir, quarantine });
    const runner = new ConsumerRunner(context.journal, reloadingRouter(consumer, router), { quarantine });
    await runner.start();
    const compactor = new Compactor({
      catalog,
      duck: deps.duck,
      lakeDir: deps.lakeDir,
      snapshots: deps.snapshots,
      nowMs: () => context.clock.nowMs(),
      options: compactionFromEnv(process.env).options,
      localFiles: deps.cache,
    });
    const running: Running = {
      ...{ catalog, consumer, runner, compactor },
      maintenance: new MaintenanceQueue(),
      timers: [],
      imports: new Map(),
    };
    this.running = running;
    this.schedule(running, lease);
    process.stderr.write(`lake: ${deps.nodeId} holds the lake-writer lease: the Lake writer runs here\n`);
  }

  private schedule(running: Running, lease: LakeWriterLease): void {
    const { settings } = this.context;
    const every = (name: string, ms: number, task: () => Promise<void>, atStart = false): void => {
      let busy = false;
      const tick = (): void => {
        if (busy) return;
        busy = true;
        task()
          .then(
            () => this.errors.delete(name),
            (error: unknown) => this.reportOnce(name, error),
          )
          .finally(() => (busy = false));
      };
      running.timers.push(setInterval(tick, ms));
      if (atStart) tick();
    };
    every("flush", settings.lakeFlushIntervalMs, () => running.consumer.flush());
    const compact = compactionTask(running.compactor, this.deps.snapshots, (task) => running.maintenance.run(task));
    if (settings.lakeCompactionIntervalMs > 0)
      every("compaction", settings.lakeCompactionIntervalMs, async () => compact());
    every("retention", SWEEP_INTERVAL_MS, () => running.maintenance.run(() => this.sweep(running)), true);
    every("janitor", Math.min(60_000, Math.ceil(settings.lakeGraceMs / 2)), () => this.janitor(running), true);
    every("imports", IMPORT_POLL_MS, () => this.startImports(running, lease), true);
  }

  private async sweep(running: Running): Promise<void> {
    const { bucket } = this.deps;
    await sweepLake(running.catalog, this.deps.lakeDir, this.context.clock.nowMs(), {
      fromCatalog: true,
      removeResult: (id) => bucket.store.deleteObject(bucket.bucket, `${RESULTS_PREFIX}${id}.json`),
    });
  }

  private async janitor(running: Running): Promise<void> {
    const { lakeGraceMs } = this.context.settings;
    // Orphans (uploads never committed) are looked for once per grace period: it lists the whole bucket.
    const orphans = this.context.clock.nowMs() - this.lastOrphanSweepMs >= lakeGraceMs;
    await running.catalog.janitor(lakeGraceMs, this.context.clock.nowMs(), { orphans });
    if (orphans) this.lastOrphanSweepMs = this.context.clock.nowMs();
    // Queries of a node that stopped (its own start-up recovery fails them when it comes back).
    const nowMs = this.context.clock.nowMs();
    for (const query of await running.catalog.documents<QueryDocument>("queries"))
      if ((query.status === "QUEUED" || query.status === "RUNNING") && nowMs - query.createdMs > ORPHAN_QUERY_MS)
        await running.catalog.putDocument("queries", {
          ...query,
          status: "FAILED",
          errorMessage: "The node running this query stopped.",
          finishedMs: nowMs,
        });
  }

  /**
   * Runs every recorded import not running here: new ones, and those a previous holder was running
   * when it stopped, again from the beginning (the de-duplication keys skip what it committed; the
   * run replaces its failures and statistics, runImport).
   */
  private async startImports(running: Running, lease: LakeWriterLease): Promise<void> {
    const docs = await running.catalog.documents<ImportDocument>("imports");
    for (const doc of docs) {
      if (!(doc.status === "INITIALIZING" || doc.status === "IN_PROGRESS") || running.imports.has(doc.id)) continue;
      const deps = importDeps(this.context, {
        ...operationDeps(this.context, running.catalog, await StoreRouter.load(running.catalog)),
        duck: this.deps.duck,
        lakeDir: this.deps.lakeDir,
        nowMs: () => this.context.clock.nowMs(),
      });
      // A node that lost the lease leaves the document to the next holder, which runs the import again.
      const save = async (updated: ImportDocument): Promise<void> => {
        if (lease.held() && this.running === running) await running.catalog.putDocument("imports", updated);
      };
      // A run cut short by a lost lease may reject (its catalog is closed): the next holder runs it again.
      const run = runImportDocument(deps, doc, save)
        .catch((error: unknown) => void process.stderr.write(`lake: import ${doc.id} stopped: ${String(error)}\n`))
        .finally(() => running.imports.delete(doc.id));
      running.imports.set(doc.id, run);
    }
  }

  /** Lost: stop at once and drop the buffer (the next holder replays from the catalog's cursor). Graceful: flush first. */
  async stop(reason: string, graceful: boolean): Promise<void> {
    const running = this.running;
    if (running === undefined) return;
    this.running = undefined;
    for (const timer of running.timers) clearInterval(timer);
    running.compactor.close();
    await running.runner.stop();
    if (graceful) await running.consumer.flush().catch(() => undefined);
    await running.maintenance.idle();
    // Imports are not waited for (one may run for hours): their commits are refused from now on, their
    // documents no longer saved here, and the next holder runs them again from the beginning.
    await running.catalog.close();
    process.stderr.write(`lake: ${this.deps.nodeId} stopped the Lake writer: ${reason}\n`);
  }

  /** The live writer's status; undefined while it runs on another node. */
  consumers(): ConsumerStatus[] | undefined {
    const running = this.running;
    if (running === undefined) return undefined;
    const { consumer, runner } = running;
    return [
      {
        name: "lake-writer",
        cursor: consumer.durableSeq(),
        neededFromSeq: consumer.durableSeq() + 1,
        progressSeq: consumer.progressSeq(runner.cursorSeq()),
        ...(runner.lastError !== undefined ? { lastError: String(runner.lastError) } : {}),
      },
    ];
  }

  health(): Record<string, unknown> {
    const running = this.running;
    return {
      ...(running !== undefined ? { compaction: running.compactor.stats, imports: running.imports.size } : {}),
      ...(this.errors.size > 0
        ? { errors: Object.fromEntries([...this.errors].map(([task, text]) => [task, errorTextForHealth(text)])) }
        : {}),
    };
  }

  /** Each distinct failure of a task once in the log (a bucket that is down must not flood it). */
  private reportOnce(task: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (this.errors.get(task) !== message) process.stderr.write(`lake: ${task} failed, will retry: ${message}\n`);
    this.errors.set(task, message);
  }
}

/**
 * Stores are created on any node: the holder's router reads them again before each batch, so a
 * store created before an event was journaled takes it (its fromSeq is below the event's seq).
 */
function reloadingRouter(consumer: LakeConsumer, router: StoreRouter): Consumer {
  return {
    name: consumer.name,
    loadCursor: () => consumer.loadCursor(),
    handle: async (batch) => {
      await router.reload();
      await consumer.handle(batch);
    },
    probe: () => consumer.probe(),
  };
}
