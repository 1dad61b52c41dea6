import { join } from "node:path";
import type { OperationHandler } from "../../control-plane/operation.js";
import type { ServerSettings } from "../../config/settings.js";
import { ConsumerRunner } from "../../consumers/runner.js";
import type { Journal } from "../../journal/journal.js";
import type { Clock } from "../../lib/clock.js";
import { createTurns, makeResolver, type LakeOperationDeps } from "../../control-plane/lake/eds-input.js";
import { channelById, createChannelOperations } from "../../control-plane/lake/channel-operations.js";
import { createEdsOperations } from "../../control-plane/lake/eds-operations.js";
import {
  compactionFromEnv,
  compactionTask,
  Compactor,
  FileSnapshots,
  type CompactionStats,
} from "../../lake/compaction/compaction.js";
import { createImportOperations } from "../../control-plane/lake/import-operations.js";
import { importObjectStore } from "../../control-plane/lake/import/import-source.js";
import type { ImportDocument } from "../../control-plane/lake/import/import-runner.js";
import { LakeConsumer } from "../../consumers/lake-writer/lake-consumer.js";
import { openSqliteLakeCatalog, type Channel } from "../../lake/catalog/index.js";
import { recoverLakeDir, sweepLake } from "../../lake/compaction/lake-maintenance.js";
import { createQueryOperations } from "../../control-plane/lake/query-operations.js";
import { SigningKeyStore } from "../../stores/signing-keys/signing-keys.js";
import { openDuck } from "../../lake/engine/query-engine.js";
import { StoreRouter } from "../../consumers/lake-writer/store-router.js";

const SWEEP_INTERVAL_MS = 3_600_000;

export interface LakeModule {
  /** Lowest journal seq Lake still needs (journal retention must keep it). */
  neededFromSeq(): number;
  /** A channel by id (any account): PutAuditEvents checks ownership and policy itself. */
  channel(id: string): Promise<Channel | undefined>;
  /** Records the outcome of a PutAuditEvents call in the channel's IngestionStatus. */
  noteIngestion(channel: Channel, status: NonNullable<Channel["ingestion"]>): Promise<void>;
  /** Compaction counters (for /health): runs, merges, files merged, bytes, replaced files awaiting deletion. */
  compaction(): CompactionStats & { pendingDeletion: number; deletedFiles: number };
  close(): Promise<void>;
}

/**
 * Lake (issue 5): event data stores (control plane in `<data-dir>/lake/lake.db`), one journal
 * consumer that writes every store's events as Parquet under `<data-dir>/lake/<eds-id>/`, SQL
 * queries on DuckDB, and imports of trail archives. Layout: docs/reference/lake.md.
 */
export async function startLakeModule(deps: {
  settings: ServerSettings;
  journal: Journal;
  clock: Clock;
  operations: Map<string, OperationHandler>;
  /** The trails' digest keys: saved query results are signed with the keys ListPublicKeys lists. */
  signingKeys?: SigningKeyStore;
}): Promise<LakeModule> {
  const lakeDir = join(deps.settings.dataDir, "lake");
  const catalog = await openSqliteLakeCatalog(join(lakeDir, "lake.db"));
  await recoverLakeDir(catalog, lakeDir);
  const duck = await openDuck(lakeDir);
  const router = await StoreRouter.load(catalog);
  const base: LakeOperationDeps = {
    catalog,
    onChange: () => router.reload(),
    journalHeadSeq: () => deps.journal.headSeq(),
    hasOngoingImport: async (edsId) =>
      (await catalog.documents<ImportDocument>("imports")).some(
        (d) => d.edsId === edsId && ["INITIALIZING", "IN_PROGRESS"].includes(d.status),
      ),
    resolve: makeResolver(catalog),
    writeTurns: createTurns(),
  };
  const snapshots = new FileSnapshots(catalog);
  const withEngine = { ...base, duck, lakeDir, nowMs: () => deps.clock.nowMs(), snapshots };
  for (const [name, handler] of [
    ...createEdsOperations(base),
    ...(await createQueryOperations({
      ...withEngine,
      // Saved results go where trails deliver, signed with the digest keys ListPublicKeys returns.
      delivery: {
        objectStore: importObjectStore(deps.settings),
        keys: deps.signingKeys ?? new SigningKeyStore({ dataDir: deps.settings.dataDir, clock: deps.clock }),
        createMissingBuckets: deps.settings.s3Endpoint === undefined,
      },
    })),
    ...createImportOperations({ ...withEngine, objectStore: importObjectStore(deps.settings) }),
    ...createChannelOperations(base),
  ])
    deps.operations.set(name, handler);

  const consumer = new LakeConsumer({ catalog, duck, router, lakeDir });
  const runner = new ConsumerRunner(deps.journal, consumer);
  await runner.start();
  let lastError = "";
  // How often buffered live events become Parquet: the freshness bound of Lake queries (≤ 5 s).
  const flushMs = deps.settings.lakeFlushIntervalMs;
  const flushTimer = setInterval(() => {
    consumer.flush().catch((error: unknown) => {
      // Retried on the next tick; reported once per distinct problem so a full disk does not flood the log.
      const message = error instanceof Error ? error.message : String(error);
      if (message !== lastError) process.stderr.write(`lake: flush failed, will retry: ${message}\n`);
      lastError = message;
    });
  }, flushMs);
  // Retention sweeps and compaction runs take turns: neither changes a partition under the other.
  let maintenance: Promise<void> = Promise.resolve();
  const exclusive = (task: () => Promise<void>): Promise<void> => (maintenance = maintenance.then(task, task));
  const sweep = (): void => {
    void exclusive(() =>
      sweepLake(catalog, lakeDir, deps.clock.nowMs()).catch((error: unknown) => {
        process.stderr.write(`lake: retention sweep failed: ${String(error)}\n`);
      }),
    );
  };
  sweep();
  const sweepTimer = setInterval(sweep, SWEEP_INTERVAL_MS);
  const compactionSettings = compactionFromEnv(process.env);
  const compactor = new Compactor({
    catalog,
    duck,
    lakeDir,
    snapshots,
    nowMs: () => deps.clock.nowMs(),
    options: compactionSettings.options,
  });
  const compact = compactionTask(compactor, snapshots, exclusive);
  const compactionMs = deps.settings.lakeCompactionIntervalMs;
  const compactionTimer = compactionMs > 0 ? setInterval(compact, compactionMs) : undefined;
  flushTimer.unref();
  sweepTimer.unref();
  compactionTimer?.unref();
  return {
    neededFromSeq: () => consumer.durableSeq() + 1,
    channel: (id) => channelById(catalog, id),
    // A read-modify-write of the channel: in the control plane's write turns, so UpdateChannel is not undone.
    noteIngestion: (channel, status) =>
      base.writeTurns(async () => {
        const current = await channelById(catalog, channel.id);
        if (current !== undefined)
          await catalog.putDocument("channels", { ...current, ingestion: { ...current.ingestion, ...status } });
      }),
    compaction: () => ({
      ...compactor.stats,
      pendingDeletion: snapshots.pendingFiles,
      deletedFiles: snapshots.deletedFiles,
    }),
    async close() {
      clearInterval(flushTimer);
      clearInterval(sweepTimer);
      clearInterval(compactionTimer);
      compactor.close();
      await maintenance;
      await snapshots.deleteUnread();
      await runner.stop();
      await consumer.flush().catch(() => undefined);
      duck.closeSync();
      await catalog.close();
    },
  };
}

export { registerPutAuditEventsRoute } from "../../http/routes/put-audit-events-route.js";
