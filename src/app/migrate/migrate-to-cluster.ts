import type { MasterKeySource } from "../../lib/master-key.js";
import { readSqliteIamDirectory } from "../../stores/principals/index.js";
import { copyBuckets } from "./copy-buckets.js";
import type { ProgressTick } from "./copy-count.js";
import { copyIdentities } from "./copy-identities.js";
import { copyJournal } from "./copy-journal.js";
import { copyQuarantine } from "./copy-quarantine.js";
import { copyBucketOwners, copyTrails } from "./copy-trails.js";
import { copyLake } from "./lake-migration.js";
import type { MigrationCounts, MigrationProgress } from "./migration-progress.js";
import { openMigrationSource, type MigrationSource } from "./migration-source.js";
import { openMigrationTarget, type ClusterTargetSettings, type MigrationTarget } from "./migration-target.js";

export interface MigrateToClusterOptions {
  /** The embedded server's data directory; the server must be stopped. */
  readonly dataDir: string;
  readonly cluster: ClusterTargetSettings;
  /** The key the embedded server was started with, when it is neither `<data-dir>/master.key` nor the cluster's. */
  readonly sourceMasterKeyFile?: string;
  /** Told as each step starts, advances and ends; nothing before the cluster is open. */
  readonly progress?: MigrationProgress;
}

export interface MigrationSummary extends MigrationCounts {
  /** The journal's seqs in the data dir (and now in the stream); empty journal: firstSeq > headSeq. */
  readonly firstSeq: number;
  readonly headSeq: number;
}

/** A step of the migration failed: which, and why, in one line. */
class MigrationError extends Error {
  override readonly name = "MigrationError";
}

const SILENT: MigrationProgress = { started: () => undefined, advanced: () => undefined, finished: () => undefined };
/** The copy steps of copyAll, for `step n/STEPS` in the progress. */
const STEPS = 7;

/**
 * `cairn migrate --to-cluster` (docs/decisions/0016-migrate-to-cluster.md): copies a stopped
 * embedded server's data dir into a cluster, in an order a re-run can resume: the journal first
 * (everything else names its seqs), the quarantine (it names seqs only), then principals, IAM users
 * and policies, signing keys, bucket owners, the buckets' objects, and each trail's delivery state
 * followed by the trail, so no cluster node ever sees a trail before its state. Each step skips
 * what the cluster already holds. Event history is not copied: a cluster node's indexer builds it
 * from the copied journal. The Lake (event data stores, their Parquet files, keys, cursor and
 * documents) comes last (lake-migration.ts).
 */
export async function migrateToCluster(options: MigrateToClusterOptions): Promise<MigrationSummary> {
  const clusterKey: MasterKeySource = {
    ...(options.cluster.masterKey !== undefined ? { masterKey: options.cluster.masterKey } : {}),
    ...(options.cluster.masterKeyFile !== undefined ? { masterKeyFile: options.cluster.masterKeyFile } : {}),
  };
  const source = await openMigrationSource(options.dataDir, {
    clusterKey,
    ...(options.sourceMasterKeyFile !== undefined ? { masterKeyFile: options.sourceMasterKeyFile } : {}),
  });
  try {
    const target = await failureNamed("open the cluster", () => openMigrationTarget(options.cluster));
    try {
      return await copyAll(source, target, stepsReportedTo(options.progress ?? SILENT));
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

type StepRunner = <T extends Partial<MigrationCounts>>(
  name: string,
  unit: string,
  run: (tick: ProgressTick) => Promise<T>,
) => Promise<T>;

async function copyAll(source: MigrationSource, target: MigrationTarget, step: StepRunner): Promise<MigrationSummary> {
  const journal = await step("copy the journal", "journal entries", async (tick) => ({
    journalEntries: await copyJournal(source.journal, target.journal, tick),
  }));
  const quarantine = await step("copy the quarantine", "quarantined records", async (tick) => ({
    quarantined: await copyQuarantine(source.quarantine, target.db, tick),
  }));
  const identities = await step("copy principals and signing keys", "principals", () => copyIdentities(source, target));
  const accounts = [
    ...readSqliteIamDirectory(source.principalsPath).accountIds,
    ...(await source.trails.list()).map((trail) => trail.accountId),
  ];
  const owners = await step("copy bucket owners", "bucket owners", async () => ({
    bucketOwners: await copyBucketOwners(source.owners, target.owners, accounts),
  }));
  const objects = await step("copy the buckets' objects", "bucket objects", async (tick) => ({
    objects: await copyBuckets(source.buckets, target.objects, tick),
  }));
  const trails = await step("copy trails", "trails", () => copyTrails(source, target));
  const lake = await step("copy the Lake", "Lake files uploaded", (tick) =>
    copyLake(
      source.dataDir,
      { catalog: target.lakeCatalog, db: target.db, objects: target.objects, bucket: target.lakeBucket },
      tick,
    ),
  );
  return {
    ...{ ...journal, ...quarantine, ...identities, ...owners, ...objects, ...trails, ...lake },
    firstSeq: source.journal.firstSeq(),
    headSeq: source.journal.headSeq(),
  };
}

/** Runs the steps in turn, numbered, telling `progress` as each starts, advances and ends. */
function stepsReportedTo(progress: MigrationProgress): StepRunner {
  let index = 0;
  return async (name, unit, run) => {
    const step = { index: ++index, of: STEPS, name, unit };
    progress.started(step);
    const counts = await failureNamed(name, () => run((done, total) => progress.advanced(step, done, total)));
    progress.finished(step, counts);
    return counts;
  };
}

/** Runs a step; its failure becomes one line naming the step, never a stack trace. */
async function failureNamed<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new MigrationError(`could not ${what}: ${reason.replace(/\s+/g, " ")}`, { cause: error });
  }
}
