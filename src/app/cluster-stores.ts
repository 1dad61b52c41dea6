import { isClusterMode, SettingsError, type ServerSettings } from "../config/settings.js";

/**
 * Refuses a complete cluster-mode configuration while this build cannot open the cluster backends
 * in the server (issue #13): starting the embedded stores instead would have every node keep its own
 * journal and history on its own disk while the operator believes they share PostgreSQL, JetStream
 * and S3, so data would split between nodes without anyone noticing.
 */
export function refuseClusterModeUntilWired(settings: Pick<ServerSettings, "databaseUrl" | "journalUrl">): void {
  if (!isClusterMode(settings)) return;
  throw new SettingsError([
    "cluster mode (CAIRN_DATABASE_URL with CAIRN_JOURNAL_URL) is not yet available in `cairn server`: " +
      "the cluster backends exist, but the server does not open them yet (docs/reference/cluster.md). " +
      "Unset CAIRN_DATABASE_URL and CAIRN_JOURNAL_URL for the embedded server.",
  ]);
}
