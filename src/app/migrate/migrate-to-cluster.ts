import type { MasterKeySource } from "../../lib/master-key.js";
import { copyBuckets } from "./copy-buckets.js";
import type { CopyCount } from "./copy-count.js";
import { copyIdentities, type IdentityCounts } from "./copy-identities.js";
import { copyJournal } from "./copy-journal.js";
import { copyBucketOwners, copyTrails, type TrailCounts } from "./copy-trails.js";
import { copyLake, type LakeCounts } from "./lake-migration.js";
import { openMigrationSource, type MigrationSource } from "./migration-source.js";
import { openMigrationTarget, type ClusterTargetSettings, type MigrationTarget } from "./migration-target.js";
import { readSqliteIamDirectory } from "../../stores/principals/index.js";

export interface MigrateToClusterOptions {
  /** The embedded server's data directory; the server must be stopped. */
  readonly dataDir: string;
  readonly cluster: ClusterTargetSettings;
  /** The key the embedded server was started with, when it is neither `<data-dir>/master.key` nor the cluster's. */
  readonly sourceMasterKeyFile?: string;
}

export interface MigrationSummary extends IdentityCounts, TrailCounts, LakeCounts {
  readonly journalEntries: CopyCount;
  readonly bucketOwners: CopyCount;
  readonly objects: CopyCount;
  /** The journal's seqs in the data dir (and now in the stream); empty journal: firstSeq > headSeq. */
  readonly firstSeq: number;
  readonly headSeq: number;
}

/** A step of the migration failed: which, and why, in one line. */
class MigrationError extends Error {
  override readonly name = "MigrationError";
}

/**
 * `cairn migrate --to-cluster` (docs/decisions/0016-migrate-to-cluster.md): copies a stopped
 * embedded server's data dir into a cluster, in an order a re-run can resume: the journal first
 * (everything else names its seqs), then principals, IAM users and policies, signing keys, bucket
 * owners, the buckets' objects, and last each trail's delivery state followed by the trail, so no
 * cluster node ever sees a trail before its state. Each step skips what the cluster already holds.
 * Event history is not copied: a cluster node's indexer builds it from the copied journal. The
 * Lake (event data stores, their Parquet files, keys, cursor and documents) comes last (lake-migration.ts).
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
    const target = await step("open the cluster", () => openMigrationTarget(options.cluster));
    try {
      return await copyAll(source, target);
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

async function copyAll(source: MigrationSource, target: MigrationTarget): Promise<MigrationSummary> {
  const journalEntries = await step("copy the journal", () => copyJournal(source.journal, target.journal));
  const identities = await step("copy principals and signing keys", () => copyIdentities(source, target));
  const accounts = [
    ...readSqliteIamDirectory(source.principalsPath).accountIds,
    ...(await source.trails.list()).map((trail) => trail.accountId),
  ];
  const bucketOwners = await step("copy bucket owners", () => copyBucketOwners(source.owners, target.owners, accounts));
  const objects = await step("copy the buckets' objects", () => copyBuckets(source.buckets, target.objects));
  const trails = await step("copy trails", () => copyTrails(source, target));
  const lake = await step("copy the Lake", () =>
    copyLake(source.dataDir, {
      catalog: target.lakeCatalog,
      db: target.db,
      objects: target.objects,
      bucket: target.lakeBucket,
    }),
  );
  return {
    ...lake,
    journalEntries,
    ...identities,
    bucketOwners,
    objects,
    ...trails,
    firstSeq: source.journal.firstSeq(),
    headSeq: source.journal.headSeq(),
  };
}

/** Runs a step; its failure becomes one line naming the step, never a stack trace. */
async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new MigrationError(`could not ${what}: ${reason.replace(/\s+/g, " ")}`, { cause: error });
  }
}
