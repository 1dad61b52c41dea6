import {
  migrateToCluster,
  type MigrateToClusterOptions,
  type MigrationSummary,
} from "../../app/migrate/migrate-to-cluster.js";
import type { Output } from "../output.js";
import { MIGRATION_COUNT_LABELS, printMigrationProgress } from "./migrate-progress.js";

export interface MigrateCommandOptions extends Omit<MigrateToClusterOptions, "progress"> {
  readonly stdout: Output;
  /** Progress lines as the steps run (migrate-progress.ts). */
  readonly stderr: Output;
}

/**
 * `cairn migrate --to-cluster`: copies a stopped embedded server's data directory into the cluster
 * named by the CAIRN_* cluster settings, with progress on stderr, and prints what it copied per kind
 * on stdout.
 *
 * @example
 * await runMigrate({ dataDir: ".cairn", cluster: settings, stdout: process.stdout, stderr: process.stderr });
 */
export async function runMigrate(options: MigrateCommandOptions): Promise<MigrationSummary> {
  const { stdout, stderr, ...migration } = options;
  const summary = await migrateToCluster({ ...migration, progress: printMigrationProgress(stderr) });
  stdout.write(describeMigration(summary, options.dataDir));
  return summary;
}

function describeMigration(summary: MigrationSummary, dataDir: string): string {
  const seqs = summary.headSeq >= summary.firstSeq ? ` (seqs ${summary.firstSeq}–${summary.headSeq})` : "";
  const rows = MIGRATION_COUNT_LABELS.map(
    ([key, label]) => [label, summary[key], key === "journalEntries" ? seqs : ""] as const,
  );
  const width = Math.max(...rows.map(([name]) => name.length));
  const copiedAny = rows.some(([, count]) => count.copied > 0);
  return [
    `${copiedAny ? "Migrated" : "Nothing left to migrate from"} ${dataDir} to the cluster:`,
    ...rows.map(
      ([name, count, extra]) =>
        `  ${name.padEnd(width)}  ${String(count.copied).padStart(7)} copied, ${count.present} already there${extra}`,
    ),
    `  ${"event history".padEnd(width)}  rebuilt from the journal by the cluster's indexer when a node starts`,
    "Start the cluster nodes now; keep the data directory until they serve its events and trails.",
    "",
  ].join("\n");
}
