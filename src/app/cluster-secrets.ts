import type { ServerSettings } from "../config/settings.js";
import { configuredKey, MasterKeyError, type MasterKeySource } from "../lib/master-key.js";
import type { MasterKey } from "../lib/secret-envelope.js";
import { openPostgresDatabase } from "../stores/postgres/index.js";
import { openPostgresPrincipalStore, type PrincipalStore } from "../stores/principals/index.js";

/** What a cluster's secrets need: the master key settings every node is given. */
export type ClusterKeySettings = Pick<ServerSettings, "dataDir" | "masterKey" | "masterKeyFile">;

/**
 * The master key of a cluster: CAIRN_MASTER_KEY or CAIRN_MASTER_KEY_FILE, never a generated
 * `<data-dir>/master.key`, which would be one node's (or one operator's machine's) only.
 */
export async function clusterMasterKey(settings: ClusterKeySettings): Promise<{ key: MasterKey; origin: string }> {
  const source: MasterKeySource = {
    ...(settings.masterKey !== undefined ? { masterKey: settings.masterKey } : {}),
    ...(settings.masterKeyFile !== undefined ? { masterKeyFile: settings.masterKeyFile } : {}),
  };
  const resolved =
    source.masterKey === undefined && source.masterKeyFile === undefined
      ? undefined
      : await configuredKey(settings.dataDir, source);
  if (resolved === undefined) throw new MasterKeyError("cluster mode needs CAIRN_MASTER_KEY or CAIRN_MASTER_KEY_FILE.");
  return resolved;
}

/**
 * The cluster's principals in PostgreSQL, for a command (`cairn principal …`): one connection of its
 * own, opened with the cluster's master key (every sealed secret must open with it, as at a node's
 * start); `close` closes the store and its connection.
 */
export async function openClusterPrincipals(
  settings: ClusterKeySettings & { readonly databaseUrl: string },
): Promise<{ principals: PrincipalStore; close(): Promise<void> }> {
  const { key } = await clusterMasterKey(settings);
  const db = openPostgresDatabase({ url: settings.databaseUrl, maxConnections: 1 });
  try {
    const principals = await openPostgresPrincipalStore(db, { masterKey: key });
    return {
      principals,
      close: async () => {
        await principals.close().finally(() => db.close());
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}
