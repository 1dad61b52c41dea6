import {
  migrateToCluster,
  type MigrateToClusterOptions,
  type MigrationSummary,
} from "../../app/migrate/migrate-to-cluster.js";
import type { CopyCount } from "../../app/migrate/copy-count.js";
import type { Output } from "../output.js";

export interface MigrateCommandOptions extends MigrateToClusterOptions {
  readonly stdout: Output;
}

/**
 * `cairn migrate --to-cluster`: copies a stopped embedded server's data directory into the cluster
 * named by the CAIRN_* cluster settings and prints what it copied per kind.
 *
 * @example
 * await runMigrate({ dataDir: ".cairn", cluster: settings, stdout: process.stdout });
 */
export async function runMigrate(options: MigrateCommandOptions): Promise<MigrationSummary> {
  const { stdout, ...migration } = options;
  const summary = await migrateToCluster(migration);
  stdout.write(describeMigration(summary, options.dataDir));
  return summary;
}

function describeMigration(summary: MigrationSummary, dataDir: string): string {
  const seqs = summary.headSeq >= summary.firstSeq ? ` (seqs ${summary.firstSeq}–${summary.headSeq})` : "";
  const rows: Array<[string, CopyCount, string?]> = [
    ["journal entries", summary.journalEntries, seqs],
    ["principals", summary.principals],
    ["IAM users", summary.users],
    ["IAM policies", summary.policies],
    ["signing keys", summary.signingKeys],
    ["bucket owners", summary.bucketOwners],
    ["bucket objects", summary.objects],
    ["trails", summary.trails],
    ["delivery states", summary.deliveryStates],
    ["event data stores", summary.eventDataStores],
    ["Lake files", summary.lakeFiles],
    ["Lake documents", summary.lakeDocuments],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  const copiedAny = rows.some(([, count]) => count.copied > 0);
  return [
    `${copiedAny ? "Migrated" : "Nothing left to migrate from"} ${dataDir} to the cluster:`,
    ...rows.map(
      ([name, count, extra]) =>
        `  ${name.padEnd(width)}  ${String(count.copied).padStart(7)} copied, ${count.present} already there${extra ?? ""}`,
    ),
    `  ${"event history".padEnd(width)}  rebuilt from the journal by the cluster's indexer when a node starts`,
    "Start the cluster nodes now; keep the data directory until they serve its events and trails.",
    "",
  ].join("\n");
}
