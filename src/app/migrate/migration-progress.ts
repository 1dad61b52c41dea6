import type { CopyCount } from "./copy-count.js";
import type { EventRuleCounts } from "./copy-event-rules.js";
import type { IdentityCounts } from "./copy-identities.js";
import type { InsightsCounts } from "./copy-insights.js";
import type { SigmaCounts } from "./copy-sigma.js";
import type { SavedQueryCounts } from "./copy-saved-queries.js";
import type { RuleDeliveryCounts } from "./copy-rule-deliveries.js";
import type { SnsCounts } from "./copy-sns.js";
import type { TrailCounts } from "./copy-trails.js";
import type { LakeCounts } from "./lake-migration.js";

/** What a migration copied, per kind of item. */
export interface MigrationCounts
  extends
    IdentityCounts,
    TrailCounts,
    SnsCounts,
    RuleDeliveryCounts,
    EventRuleCounts,
    SigmaCounts,
    SavedQueryCounts,
    InsightsCounts,
    LakeCounts {
  readonly journalEntries: CopyCount;
  /** Quarantined records (consumer, seq, eventID, account, error, time; the records are in the journal). */
  readonly quarantined: CopyCount;
  readonly bucketOwners: CopyCount;
  readonly objects: CopyCount;
}

/** One step of a migration, as its progress names it. */
export interface MigrationStep {
  /** 1-based position among `of` steps. */
  readonly index: number;
  readonly of: number;
  /** What it does, as its failure says it (`could not copy the journal: …`). */
  readonly name: string;
  /** What its progress counts (`journal entries`). */
  readonly unit: string;
}

/**
 * What `migrateToCluster` tells its caller while it runs, so a long migration is not silent until its
 * summary (the CLI prints it on stderr). `advanced` may come per item: the listener thins it out.
 */
export interface MigrationProgress {
  started(step: MigrationStep): void;
  /** `done` of the step's items are copied or found in the cluster; `total` when the source says up front. */
  advanced(step: MigrationStep, done: number, total: number | undefined): void;
  finished(step: MigrationStep, counts: Partial<MigrationCounts>): void;
}
