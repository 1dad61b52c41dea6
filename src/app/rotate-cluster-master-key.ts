import { MasterKeyError } from "../lib/master-key.js";
import type { MasterKey } from "../lib/secret-envelope.js";
import { openPostgresDatabase, type PostgresDatabase, type Queryable } from "../stores/postgres/index.js";
import { resealPostgresPrincipalSecrets } from "../stores/principals/index.js";
import { resealPostgresSigningKeys } from "../stores/signing-keys/index.js";
import { resealPostgresConnectionSecrets } from "../stores/event-rules/index.js";

export interface RotateClusterMasterKeyOptions {
  /** The cluster's `postgres://` URL. */
  readonly databaseUrl: string;
  /** The master key every node runs with now. */
  readonly from: MasterKey;
  /** The master key every node is given afterwards. */
  readonly to: MasterKey;
}

export interface ClusterMasterKeyRotation {
  readonly fromKeyId: string;
  readonly toKeyId: string;
  readonly principalSecrets: number;
  readonly signingKeys: number;
  /** EventBridge connections' sealed auth (`cairn_event_connections`). */
  readonly connectionSecrets: number;
}

/**
 * A cluster's master key rotation: every secret in PostgreSQL (secret access keys, signing private
 * keys) is opened with `from` and sealed with `to` in ONE transaction, with both tables locked
 * against writes, so the database holds every old sealed value or every new one whatever happens,
 * and no marker file is needed (the data-directory rotation needs one because its files cannot
 * change together). A run whose commit the caller did not see may simply be run again: values
 * already sealed with `to` open with it too. Nodes hold the key in memory, so every node must be
 * stopped first and started with `to` afterwards; a node still connected to the database makes the
 * rotation refuse (as far as PostgreSQL shows this role the other sessions), and a node started
 * with the old key afterwards refuses to start, naming the key.
 *
 * @example
 * await rotateClusterMasterKey({ databaseUrl, from: oldKey, to: newKey });
 */
export async function rotateClusterMasterKey(
  options: RotateClusterMasterKeyOptions,
): Promise<ClusterMasterKeyRotation> {
  const { from, to } = options;
  if (from.id === to.id) throw new MasterKeyError(`The new master key is the current one (${to.id}).`);
  // One connection: the check for other sessions must not count this rotation's own.
  const db = openPostgresDatabase({ url: options.databaseUrl, maxConnections: 1 });
  try {
    const rotation = await db.transaction(async (tx) => {
      const openers = [from, to];
      const principalSecrets = await resealPostgresPrincipalSecrets(tx, openers, to);
      const signingKeys = await resealPostgresSigningKeys(tx, openers, to);
      const connectionSecrets = await resealPostgresConnectionSecrets(tx, openers, to);
      // After the locks: a node connecting from now on waits for them, then finds the new values.
      await refuseWhileNodesConnected(tx, db.label);
      return { fromKeyId: from.id, toKeyId: to.id, principalSecrets, signingKeys, connectionSecrets };
    });
    await rewriteSecretTables(db);
    return rotation;
  } catch (error) {
    if (error instanceof Error && UNOPENED_SECRET_ERRORS.has(error.name))
      throw new MasterKeyError(
        `${error.message} Nothing was re-sealed: give the master key the cluster's nodes run with as the current key.`,
        { cause: error },
      );
    throw error;
  } finally {
    await db.close();
  }
}

/**
 * An UPDATE leaves the old row version (the old ciphertext) in the table's pages until vacuum, and
 * plain VACUUM only marks the space free: a rotation often answers a leaked key, so the tables are
 * rewritten into new files (small tables; the nodes are stopped, so the exclusive lock waits for no one).
 */
async function rewriteSecretTables(db: PostgresDatabase): Promise<void> {
  for (const table of SECRET_TABLES) {
    const [row] = await db.query<{ found: boolean }>("SELECT to_regclass($1) IS NOT NULL AS found", [table]);
    if (row?.found === true) await db.query(`VACUUM FULL ${table}`);
  }
}

const SECRET_TABLES = ["cairn_principals", "cairn_signing_keys", "cairn_event_connections"] as const;

/** What the stores throw for a sealed value that opens with none of the keys given. */
const UNOPENED_SECRET_ERRORS = new Set(["SigningKeySecretsError", "PrincipalResealError", "ConnectionResealError"]);

async function refuseWhileNodesConnected(tx: Queryable, database: string): Promise<void> {
  const [row] = await tx.query<{ sessions: string }>(
    `SELECT count(*) AS sessions FROM pg_stat_activity
     WHERE datname = current_database() AND application_name = 'cairn' AND pid <> pg_backend_pid()`,
  );
  const sessions = Number(row?.sessions ?? 0);
  if (sessions > 0)
    throw new MasterKeyError(
      `${sessions} other Cairn session(s) are connected to ${database}: stop every node before rotating the master key ` +
        "(they hold the current key in memory). Nothing was re-sealed.",
    );
}
