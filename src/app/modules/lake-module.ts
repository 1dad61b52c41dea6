import { join } from "node:path";
import { importAllowedDirectories, type ServerSettings } from "../../config/settings.js";
import { LakeConsumer } from "../../consumers/lake-writer/lake-consumer.js";
import { quarantineFor } from "../../consumers/quarantine.js";
import { StoreRouter } from "../../consumers/lake-writer/store-router.js";
import { ConsumerRunner } from "../../consumers/runner.js";
import { channelById, createChannelOperations } from "../../control-plane/lake/channel-operations.js";
import { createTurns, makeResolver, type LakeOperationDeps } from "../../control-plane/lake/eds-input.js";
import { createEdsOperations } from "../../control-plane/lake/eds-operations.js";
import { createImportOperations, type ImportOperationDeps } from "../../control-plane/lake/import-operations.js";
import type { ImportDocument } from "../../control-plane/lake/import/import-runner.js";
import { createQueryOperations } from "../../control-plane/lake/query-operations.js";
import { createSavedQueryOperations } from "../../control-plane/lake/saved-query-operations.js";
import type { QueryCluster } from "../../control-plane/lake/query-runtime.js";
import type { OperationHandler } from "../../control-plane/operation.js";
import { registerPutAuditEventsRoute, type ChannelRegistry } from "../../http/routes/put-audit-events-route.js";
import { openSqliteLakeCatalog, type LakeCatalog } from "../../lake/catalog/index.js";
import { compactionFromEnv, compactionTask, Compactor, FileSnapshots } from "../../lake/compaction/compaction.js";
import { recoverLakeDir, sweepLake } from "../../lake/compaction/lake-maintenance.js";
import { openDuck } from "../../lake/engine/query-engine.js";
import { WarmViews } from "../../lake/engine/warm-views.js";
import type { CairnModule, Job, ModuleContext } from "../registry.js";

const SWEEP_INTERVAL_MS = 3_600_000;

export type Duck = Awaited<ReturnType<typeof openDuck>>;

/**
 * Lake (spec §7): event data stores (catalog in `<data-dir>/lake/lake.db`), the Lake writer that
 * turns every store's events into Parquet under `<data-dir>/lake/<eds-id>/`, SQL queries on DuckDB,
 * imports of trail archives, channels with PutAuditEvents, retention and compaction.
 */
export const lakeModule: CairnModule = {
  name: "lake",
  async start(context) {
    const lakeDir = join(context.settings.dataDir, "lake");
    const catalog = await openSqliteLakeCatalog(join(lakeDir, "lake.db"));
    await recoverLakeDir(catalog, lakeDir);
    const duck = await openDuck(lakeDir);
    const router = await StoreRouter.load(catalog);
    const snapshots = new FileSnapshots(catalog);
    const warmViews = new WarmViews(duck, lakeDir);
    const quarantine = quarantineFor(context.quarantine, "lake-writer", context.clock, (line) =>
      process.stderr.write(line),
    );
    const consumer = new LakeConsumer({ catalog, duck, router, lakeDir, quarantine });
    const runner = new ConsumerRunner(context.journal, consumer, { quarantine });
    await runner.start();
    const maintenance = new MaintenanceQueue();
    const base = operationDeps(context, catalog, router);
    const compactor = new Compactor({
      catalog,
      duck,
      lakeDir,
      snapshots,
      nowMs: () => context.clock.nowMs(),
      options: compactionFromEnv(process.env).options,
    });
    return {
      operations: await lakeOperations(context, base, { duck, lakeDir, snapshots, warmViews }),
      routes: (app, routeContext) => registerPutAuditEventsRoute(app, routeContext, channelRegistry(catalog, base)),
      consumers: () => [
        {
          name: "lake-writer",
          cursor: consumer.durableSeq(),
          neededFromSeq: consumer.durableSeq() + 1,
          progressSeq: consumer.progressSeq(runner.cursorSeq()),
          ...(runner.lastError !== undefined ? { lastError: String(runner.lastError) } : {}),
        },
      ],
      jobs: lakeJobs(context.settings, {
        consumer,
        catalog,
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
        warmViews.close();
        duck.closeSync();
        await catalog.close();
      },
    };
  },
};

/** What the Lake operations share; the embedded and the cluster Lake modules both build them here. */
export function operationDeps(context: ModuleContext, catalog: LakeCatalog, router: StoreRouter): LakeOperationDeps {
  return {
    catalog,
    onChange: () => router.reload(),
    journalHeadSeq: () => context.journal.latestSeq(),
    hasOngoingImport: async (edsId) =>
      (await catalog.documents<ImportDocument>("imports")).some(
        (d) => d.edsId === edsId && ["INITIALIZING", "IN_PROGRESS"].includes(d.status),
      ),
    resolve: makeResolver(catalog),
    writeTurns: createTurns(),
  };
}

/** Cluster mode's differences in the operations (decision 0015). */
export interface ClusterOperationOptions {
  /** Results in the lake bucket, CancelQuery across nodes. */
  readonly queries: QueryCluster;
  /** StartImport records the import; the Lake writer lease holder runs it. */
  readonly leasedImports: true;
}

export async function lakeOperations(
  context: ModuleContext,
  base: LakeOperationDeps,
  engine: { duck: Duck; lakeDir: string; snapshots: FileSnapshots; warmViews: WarmViews },
  cluster?: ClusterOperationOptions,
): Promise<Array<[string, OperationHandler]>> {
  const withEngine = { ...base, ...engine, nowMs: () => context.clock.nowMs() };
  const objectStore = context.buckets.store;
  return [
    ...createEdsOperations(base),
    // Saved results go where trails deliver, signed with the digest keys ListPublicKeys returns.
    ...(await createQueryOperations({
      ...withEngine,
      delivery: {
        objectStore,
        owners: context.buckets.owners,
        keys: context.signingKeys,
        createMissingBuckets: context.buckets.embedded !== undefined,
      },
      ...(cluster !== undefined ? { cluster: cluster.queries } : {}),
    })),
    ...createImportOperations({
      ...importDeps(context, withEngine),
      ...(cluster !== undefined ? { leasedRuns: cluster.leasedImports } : {}),
    }),
    ...createChannelOperations(base),
    ...createSavedQueryOperations(context.savedQueries, () => context.clock.nowMs()),
  ];
}

/** What an import run needs, on `engine`'s catalog (cluster mode: the fenced one of the lease holder). */
export function importDeps(
  context: ModuleContext,
  engine: LakeOperationDeps & { duck: Duck; lakeDir: string; nowMs: () => number },
): ImportOperationDeps {
  return {
    ...engine,
    objectStore: context.buckets.store,
    owners: context.buckets.owners,
    importAllowedDirectories: importAllowedDirectories(context.settings),
  };
}

/** The channels PutAuditEvents sends through. */
export function channelRegistry(catalog: LakeCatalog, base: LakeOperationDeps): ChannelRegistry {
  return {
    channel: (id) => channelById(catalog, id),
    // A read-modify-write of the channel: in the control plane's write turns, so UpdateChannel is not undone.
    noteIngestion: (channel, status) =>
      base.writeTurns(async () => {
        const current = await channelById(catalog, channel.id);
        if (current !== undefined)
          await catalog.putDocument("channels", { ...current, ingestion: { ...current.ingestion, ...status } });
      }),
  };
}

/** Retention sweeps and compaction runs take turns: neither changes a partition under the other. */
export class MaintenanceQueue {
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
    catalog: LakeCatalog;
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
          sweepLake(lake.catalog, lake.lakeDir, lake.nowMs()).catch((error: unknown) => {
            process.stderr.write(`lake: retention sweep failed: ${String(error)}\n`);
          }),
        ),
    },
  ];
  if (settings.lakeCompactionIntervalMs > 0)
    jobs.push({ name: "lake-compaction", intervalMs: settings.lakeCompactionIntervalMs, run: async () => compact() });
  return jobs;
}
