import { join } from "node:path";
import type { ServerSettings } from "../../config/settings.js";
import { LakeConsumer } from "../../consumers/lake-writer/lake-consumer.js";
import { StoreRouter } from "../../consumers/lake-writer/store-router.js";
import { ConsumerRunner } from "../../consumers/runner.js";
import { channelById, createChannelOperations } from "../../control-plane/lake/channel-operations.js";
import { makeResolver, type LakeOperationDeps } from "../../control-plane/lake/eds-input.js";
import { createEdsOperations } from "../../control-plane/lake/eds-operations.js";
import { createImportOperations } from "../../control-plane/lake/import-operations.js";
import type { ImportDocument } from "../../control-plane/lake/import/import-runner.js";
import { createQueryOperations } from "../../control-plane/lake/query-operations.js";
import type { OperationHandler } from "../../control-plane/operation.js";
import { registerPutAuditEventsRoute, type ChannelRegistry } from "../../http/routes/put-audit-events-route.js";
import { LakeDb } from "../../lake/catalog/lake-db.js";
import { compactionFromEnv, compactionTask, Compactor, FileSnapshots } from "../../lake/compaction/compaction.js";
import { recoverLakeDir, sweepLake } from "../../lake/compaction/lake-maintenance.js";
import { openDuck } from "../../lake/engine/query-engine.js";
import type { CairnModule, Job, ModuleContext } from "../registry.js";

const SWEEP_INTERVAL_MS = 3_600_000;

type Duck = Awaited<ReturnType<typeof openDuck>>;

/**
 * Lake (spec §7): event data stores (catalog in `<data-dir>/lake/lake.db`), the Lake writer that
 * turns every store's events into Parquet under `<data-dir>/lake/<eds-id>/`, SQL queries on DuckDB,
 * imports of trail archives, channels with PutAuditEvents, retention and compaction.
 */
export const lakeModule: CairnModule = {
  name: "lake",
  async start(context) {
    const lakeDir = join(context.settings.dataDir, "lake");
    const db = new LakeDb(join(lakeDir, "lake.db"));
    await recoverLakeDir(db, lakeDir);
    const duck = await openDuck(lakeDir);
    const router = new StoreRouter(db);
    const snapshots = new FileSnapshots(db);
    const consumer = new LakeConsumer({ db, duck, router, lakeDir });
    const runner = new ConsumerRunner(context.journal, consumer);
    await runner.start();
    const maintenance = new MaintenanceQueue();
    const compactor = new Compactor({
      db,
      duck,
      lakeDir,
      snapshots,
      nowMs: () => context.clock.nowMs(),
      options: compactionFromEnv(process.env).options,
    });
    const channels: ChannelRegistry = {
      channel: (id) => channelById(db, id),
      noteIngestion(channel, status) {
        const current = channelById(db, channel.id);
        if (current === undefined) return;
        db.putDocument("channels", current.id, current.accountId, {
          ...current,
          ingestion: { ...current.ingestion, ...status },
        });
      },
    };
    return {
      operations: lakeOperations(context, { db, duck, lakeDir, snapshots, router }),
      routes: (app, routeContext) => registerPutAuditEventsRoute(app, routeContext, channels),
      consumers: () => [
        {
          name: "lake-writer",
          cursor: consumer.durableSeq(),
          neededFromSeq: consumer.durableSeq() + 1,
          ...(runner.lastError !== undefined ? { lastError: String(runner.lastError) } : {}),
        },
      ],
      jobs: lakeJobs(context.settings, {
        consumer,
        db,
        lakeDir,
        compactor,
        snapshots,
        maintenance,
        nowMs: () => context.clock.nowMs(),
      }),
      health: () => ({
        compaction: {
          ...compactor.stats,
          pendingDeletion: snapshots.pendingFiles,
          deletedFiles: snapshots.deletedFiles,
        },
      }),
      async close() {
        compactor.close();
        await maintenance.idle();
        await snapshots.deleteUnread();
        await runner.stop();
        await consumer.flush().catch(() => undefined);
        duck.closeSync();
        db.close();
      },
    };
  },
};

function lakeOperations(
  context: ModuleContext,
  lake: { db: LakeDb; duck: Duck; lakeDir: string; snapshots: FileSnapshots; router: StoreRouter },
): Array<[string, OperationHandler]> {
  const { db } = lake;
  const base: LakeOperationDeps = {
    db,
    onChange: () => lake.router.reload(),
    journalHeadSeq: () => context.journal.headSeq(),
    hasOngoingImport: (edsId) =>
      db
        .documents<ImportDocument>("imports")
        .some((d) => d.edsId === edsId && ["INITIALIZING", "IN_PROGRESS"].includes(d.status)),
    resolve: makeResolver(db),
  };
  const withEngine = {
    ...base,
    duck: lake.duck,
    lakeDir: lake.lakeDir,
    nowMs: () => context.clock.nowMs(),
    snapshots: lake.snapshots,
  };
  const objectStore = context.buckets.store;
  return [
    ...createEdsOperations(base),
    // Saved results go where trails deliver, signed with the digest keys ListPublicKeys returns.
    ...createQueryOperations({
      ...withEngine,
      delivery: {
        objectStore,
        keys: context.signingKeys,
        createMissingBuckets: context.buckets.embedded !== undefined,
      },
    }),
    ...createImportOperations({ ...withEngine, objectStore }),
    ...createChannelOperations(base),
  ];
}

/** Retention sweeps and compaction runs take turns: neither changes a partition under the other. */
class MaintenanceQueue {
  private tail: Promise<void> = Promise.resolve();

  run(task: () => Promise<void>): Promise<void> {
    this.tail = this.tail.then(task, task);
    return this.tail;
  }

  idle(): Promise<void> {
    return this.tail;
  }
}

function lakeJobs(
  settings: ServerSettings,
  lake: {
    consumer: LakeConsumer;
    db: LakeDb;
    lakeDir: string;
    compactor: Compactor;
    snapshots: FileSnapshots;
    maintenance: MaintenanceQueue;
    nowMs: () => number;
  },
): Job[] {
  const { maintenance } = lake;
  let lastFlushError = "";
  const compact = compactionTask(lake.compactor, lake.snapshots, (task) => maintenance.run(task));
  const jobs: Job[] = [
    {
      // How often buffered live events become Parquet: the freshness bound of Lake queries (≤ 5 s).
      name: "lake-flush",
      intervalMs: settings.lakeFlushIntervalMs,
      run: () =>
        lake.consumer.flush().then(
          () => void (lastFlushError = ""),
          (error: unknown) => {
            // Retried on the next run; reported once per distinct problem so a full disk does not flood the log.
            const message = error instanceof Error ? error.message : String(error);
            if (message !== lastFlushError) process.stderr.write(`lake: flush failed, will retry: ${message}\n`);
            lastFlushError = message;
          },
        ),
    },
    {
      name: "lake-retention",
      intervalMs: SWEEP_INTERVAL_MS,
      runAtStart: true,
      run: () =>
        maintenance.run(() =>
          sweepLake(lake.db, lake.lakeDir, lake.nowMs()).catch((error: unknown) => {
            process.stderr.write(`lake: retention sweep failed: ${String(error)}\n`);
          }),
        ),
    },
  ];
  if (settings.lakeCompactionIntervalMs > 0)
    jobs.push({ name: "lake-compaction", intervalMs: settings.lakeCompactionIntervalMs, run: async () => compact() });
  return jobs;
}
