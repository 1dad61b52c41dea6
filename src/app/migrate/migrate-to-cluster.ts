import type { MasterKeySource } from "../../lib/master-key.js";
import { readSqliteIamDirectory } from "../../stores/principals/index.js";
import { copyBuckets } from "./copy-buckets.js";
import { copyIdentities } from "./copy-identities.js";
import { copyJournal } from "./copy-journal.js";
import { copyQuarantine } from "./copy-quarantine.js";
import { copyEventRules } from "./copy-event-rules.js";
import { copyInsights } from "./copy-insights.js";
import { copySigma } from "./copy-sigma.js";
import { copySavedQueries } from "./copy-saved-queries.js";
import { copyRuleDeliveries } from "./copy-rule-deliveries.js";
import { copySns } from "./copy-sns.js";
import { copyBucketOwners, copyTrails } from "./copy-trails.js";
import { copyLake } from "./lake-migration.js";
import type { MigrationCounts, MigrationProgress } from "./migration-progress.js";
import { openMigrationSource, type MigrationSource } from "./migration-source.js";
import type { MigrationStepDefinition } from "./migration-step.js";
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

/**
 * `cairn migrate --to-cluster` (docs/decisions/0016-migrate-to-cluster.md): copies a stopped
 * embedded server's data dir into a cluster, in an order a re-run can resume: the journal first
 * (everything else names its seqs), the quarantine (it names seqs only), then principals, IAM users
 * and policies, signing keys, bucket owners, the buckets' objects, and each trail's delivery state
 * followed by the trail, so no cluster node ever sees a trail before its state; SNS topics and
 * subscriptions; the EventBridge rule consumer's cursor, queued deliveries and kept failures, then
 * the connections (secrets re-sealed), API destinations, rules and targets (a node delivers only for
 * rules that exist, and finds their cursor); the Sigma rules, matches (with their ids) and cursor; the
 * Insights series with their detector state and cursor; users' saved Lake queries. Each step skips what the cluster already holds.
 * Event history is not copied: a cluster node's indexer builds it from the copied journal. The Lake (event data stores, their Parquet files, keys, cursor and
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
      return await copyAll(source, target, options.progress ?? SILENT);
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

type CountsStep = MigrationStepDefinition<Partial<MigrationCounts>>;

/**
 * The copy steps in their order (the reasons are on migrateToCluster): the journal first, then
 * whatever names its seqs; a new store is one more line.
 */
const STEPS: readonly CountsStep[] = [
  {
    name: "copy the journal",
    unit: "journal entries",
    run: async (source, target, tick) => ({ journalEntries: await copyJournal(source.journal, target.journal, tick) }),
  },
  {
    name: "copy the quarantine",
    unit: "quarantined records",
    run: async (source, target, tick) => ({ quarantined: await copyQuarantine(source.quarantine, target.db, tick) }),
  },
  {
    name: "copy principals and signing keys",
    unit: "principals",
    run: (source, target) => copyIdentities(source, target),
  },
  {
    name: "copy bucket owners",
    unit: "bucket owners",
    run: async (source, target) => ({
      bucketOwners: await copyBucketOwners(source.owners, target.owners, await accountsOf(source)),
    }),
  },
  {
    name: "copy the buckets' objects",
    unit: "bucket objects",
    run: async (source, target, tick) => ({ objects: await copyBuckets(source.buckets, target.objects, tick) }),
  },
  { name: "copy trails", unit: "trails", run: (source, target) => copyTrails(source, target) },
  copySns,
  copyRuleDeliveries,
  copyEventRules,
  copySigma,
  copyInsights,
  copySavedQueries,
  {
    name: "copy the Lake",
    unit: "Lake files uploaded",
    run: (source, target, tick) =>
      copyLake(
        source.dataDir,
        { catalog: target.lakeCatalog, db: target.db, objects: target.objects, bucket: target.lakeBucket },
        tick,
      ),
  },
];

async function copyAll(
  source: MigrationSource,
  target: MigrationTarget,
  progress: MigrationProgress,
): Promise<MigrationSummary> {
  let counts: Partial<MigrationCounts> = {};
  for (const [index, definition] of STEPS.entries()) {
    const step = { index: index + 1, of: STEPS.length, name: definition.name, unit: definition.unit };
    progress.started(step);
    const copied = await failureNamed(definition.name, () =>
      definition.run(source, target, (done, total) => progress.advanced(step, done, total)),
    );
    progress.finished(step, copied);
    counts = { ...counts, ...copied };
  }
  return {
    // Every count is there: each step answers its own, and the steps are all run.
    ...(counts as MigrationCounts),
    firstSeq: source.journal.firstSeq(),
    headSeq: source.journal.headSeq(),
  };
}

/** The accounts whose buckets have owners: IAM's, and the trails' (the contract lists owners per account). */
async function accountsOf(source: MigrationSource): Promise<string[]> {
  return [
    ...readSqliteIamDirectory(source.principalsPath).accountIds,
    ...(await source.trails.list()).map((trail) => trail.accountId),
  ];
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
