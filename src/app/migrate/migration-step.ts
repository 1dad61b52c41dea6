import type { ProgressTick } from "./copy-count.js";
import type { MigrationSource } from "./migration-source.js";
import type { MigrationTarget } from "./migration-target.js";

/**
 * One step of `cairn migrate --to-cluster`: what its progress and its failure call it, and what it
 * copies from the opened data dir into the opened cluster, skipping what the cluster holds. A store
 * added later is one more of these (its file opened from `source.dataDir`, absent: nothing to copy)
 * and one line in migrate-to-cluster.ts's list, after the journal when it names journal seqs.
 */
export interface MigrationStepDefinition<Counts extends object> {
  /** As its failure says it (`could not <name>: …`). */
  readonly name: string;
  /** What its progress counts. */
  readonly unit: string;
  run(source: MigrationSource, target: MigrationTarget, tick: ProgressTick): Promise<Counts>;
}
