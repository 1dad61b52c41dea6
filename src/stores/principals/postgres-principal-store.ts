import { keyIdsText, openWithAnyKey, SecretEnvelopeError, type MasterKey } from "../../lib/secret-envelope.js";
import { migrate, safeInteger, type Migration, type PostgresDatabase, type Queryable } from "../postgres/index.js";
import { secretAssociatedData } from "./keys.js";
import { ENSURE_USER, hasNul, IAM_ENTITIES_TABLES, postgresIamEntities, refuseNul } from "./postgres-iam-entities.js";
import { PrincipalExistsError, type Principal, type PrincipalStore, type PrincipalType } from "./principal.js";

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "principals, users and policies",
    // secret_access_key is sealed with the master key (secret-envelope.ts), never plaintext: the
    // CHECK refuses anything without the envelope's prefix. COLLATE "C": lists tie-break by byte order.
    sql: `CREATE TABLE cairn_principals (
            access_key_id     TEXT COLLATE "C" PRIMARY KEY,
            secret_access_key TEXT NOT NULL CHECK (secret_access_key LIKE 'v1:%'),
            name              TEXT NOT NULL,
            type              TEXT NOT NULL CHECK (type IN ('Root', 'IAMUser', 'AssumedRole')),
            account_id        TEXT COLLATE "C" NOT NULL,
            principal_id      TEXT NOT NULL,
            created_at_ms     BIGINT NOT NULL
          );
          CREATE INDEX cairn_principals_by_account ON cairn_principals (account_id, created_at_ms, access_key_id);
          ${IAM_ENTITIES_TABLES}`,
  },
];

interface PrincipalRow {
  access_key_id: string;
  secret_access_key: string;
  name: string;
  type: PrincipalType;
  account_id: string;
  principal_id: string;
  created_at_ms: string;
}

const COLUMNS = "access_key_id, secret_access_key, name, type, account_id, principal_id, created_at_ms";

/** A stored secret does not open with the master key given. */
class PrincipalSecretsError extends Error {
  override readonly name = "PrincipalSecretsError";
}

export interface PostgresPrincipalStoreOptions {
  /**
   * Seals secrets on `add` and opens them on reads. Every node of a cluster is given the same key;
   * the store refuses to open when a stored secret does not open with it.
   */
  readonly masterKey: MasterKey;
}

/**
 * Opens (migrating) the cluster principal store on `db`: access keys, users and policies of every
 * node in one database, secrets sealed with the master key as in `principals.db`. Every call reads
 * the database, so what one node adds is seen by the next call of any other. Uniqueness (an access
 * key id; a user name per account, without case) is a constraint, so of two nodes adding the same
 * at once one wins and the other gets PrincipalExistsError. Closing the store leaves `db` open.
 *
 * @example const principals = await openPostgresPrincipalStore(db, { masterKey });
 */
export async function openPostgresPrincipalStore(
  db: PostgresDatabase,
  options: PostgresPrincipalStoreOptions,
): Promise<PrincipalStore> {
  const { masterKey } = options;
  await migrate(db, "principals", MIGRATIONS);
  let closed = false;
  const assertOpen = (): void => {
    if (closed) throw new Error("The principal store is closed.");
  };
  /** What a lookup finds without asking the database (a key holding NUL, which none stored has). */
  const nothing = <T>(empty: T): T => {
    assertOpen();
    return empty;
  };
  const guarded: Queryable = {
    query: async <R extends object>(text: string, values?: readonly unknown[]) => {
      assertOpen();
      return db.query<R>(text, values);
    },
  };
  const fromRow = (row: PrincipalRow): Principal => principalOf(row, openSecret(row, masterKey, db.label));
  // Fail at open, not at some later request: every secret must open with this key.
  for (const row of await db.query<PrincipalRow>(`SELECT ${COLUMNS} FROM cairn_principals`)) fromRow(row);

  const find = async (accessKeyIds: readonly string[]): Promise<Principal[]> => {
    const wanted = [...new Set(accessKeyIds)].filter((id) => !hasNul(id));
    if (wanted.length === 0) return nothing([]);
    const rows = await guarded.query<PrincipalRow>(
      `SELECT ${COLUMNS} FROM cairn_principals WHERE access_key_id = ANY($1::text[])`,
      [wanted],
    );
    return rows.map(fromRow);
  };

  return {
    async findByAccessKeyId(accessKeyId) {
      return (await find([accessKeyId]))[0];
    },
    async findByAccessKeyIds(accessKeyIds) {
      return new Map((await find(accessKeyIds)).map((principal) => [principal.accessKeyId, principal]));
    },
    async add(principal) {
      assertOpen();
      await addPrincipal(db, principal, masterKey);
    },
    async list(filter = {}) {
      if (filter.accountId !== undefined && hasNul(filter.accountId)) return nothing([]);
      const rows = await guarded.query<PrincipalRow>(
        `SELECT ${COLUMNS} FROM cairn_principals WHERE ($1::text IS NULL OR account_id = $1)
         ORDER BY created_at_ms, access_key_id`,
        [filter.accountId ?? null],
      );
      return rows.map(fromRow);
    },
    async remove(accessKeyId) {
      if (hasNul(accessKeyId)) return nothing(false);
      const rows = await guarded.query("DELETE FROM cairn_principals WHERE access_key_id = $1 RETURNING 1", [
        accessKeyId,
      ]);
      return rows.length > 0;
    },
    ...postgresIamEntities(guarded, assertOpen),
    async close() {
      closed = true;
    },
  };
}

/** The key and, for an IAM user, its user entry (kept when the user exists), in one transaction. */
async function addPrincipal(db: PostgresDatabase, principal: Principal, masterKey: MasterKey): Promise<void> {
  const { accessKeyId, secretAccessKey, name, type, accountId, principalId, createdAtMs } = principal;
  refuseNul(accessKeyId, secretAccessKey, name, type, accountId, principalId);
  const sealed = masterKey.seal(secretAccessKey, secretAssociatedData(accessKeyId));
  await db.transaction(async (tx) => {
    // ON CONFLICT … RETURNING rather than catching a unique violation: the constraint decides
    // between two nodes, and the transaction is not left aborted.
    const inserted = await tx.query(
      `INSERT INTO cairn_principals (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (access_key_id) DO NOTHING RETURNING 1`,
      [accessKeyId, sealed, name, type, accountId, principalId, createdAtMs],
    );
    if (inserted.length === 0) throw new PrincipalExistsError(`Access key id ${accessKeyId} already exists.`);
    if (type === "IAMUser") await tx.query(ENSURE_USER, [accountId, name, principalId, "/", createdAtMs]);
  });
}

function openSecret(row: PrincipalRow, masterKey: MasterKey, database: string): string {
  try {
    return masterKey.open(row.secret_access_key, secretAssociatedData(row.access_key_id));
  } catch (error) {
    if (!(error instanceof SecretEnvelopeError)) throw error;
    throw new PrincipalSecretsError(
      `PostgreSQL at ${database}: the secret of access key ${row.access_key_id} does not open with master key ${masterKey.id}. ` +
        "Every node of a cluster must be given the same CAIRN_MASTER_KEY (or CAIRN_MASTER_KEY_FILE).",
    );
  }
}

function principalOf(row: PrincipalRow, secretAccessKey: string): Principal {
  return {
    name: row.name,
    type: row.type,
    accountId: row.account_id,
    accessKeyId: row.access_key_id,
    secretAccessKey,
    principalId: row.principal_id,
    createdAtMs: safeInteger(row.created_at_ms, "a principal's creation time"),
  };
}

/** A secret access key opens with none of the keys a master key rotation was given. */
class PrincipalResealError extends Error {
  override readonly name = "PrincipalResealError";
}

/**
 * A cluster master key rotation's step for the principals, inside the caller's transaction `tx`:
 * the table is locked against writes (reads go on) and every secret access key is opened with any
 * of `from` and sealed with `to`. The caller commits the step with the others, so the database
 * holds either every old sealed value or every new one. Resolves how many secrets were re-sealed;
 * a database without the table (no node ever started on it) holds none.
 */
export async function resealPostgresPrincipalSecrets(
  tx: Queryable,
  from: readonly MasterKey[],
  to: MasterKey,
): Promise<number> {
  const [table] = await tx.query<{ found: boolean }>("SELECT to_regclass('cairn_principals') IS NOT NULL AS found");
  if (table?.found !== true) return 0;
  await tx.query("LOCK TABLE cairn_principals IN EXCLUSIVE MODE");
  const rows = await tx.query<{ access_key_id: string; secret_access_key: string }>(
    "SELECT access_key_id, secret_access_key FROM cairn_principals ORDER BY access_key_id FOR UPDATE",
  );
  for (const row of rows) {
    const associatedData = secretAssociatedData(row.access_key_id);
    let secret: string;
    try {
      secret = openWithAnyKey(from, row.secret_access_key, associatedData);
    } catch (error) {
      if (!(error instanceof SecretEnvelopeError)) throw error;
      throw new PrincipalResealError(
        `The secret of access key ${row.access_key_id} does not open with master key ${keyIdsText(from)}.`,
      );
    }
    await tx.query("UPDATE cairn_principals SET secret_access_key = $1 WHERE access_key_id = $2", [
      to.seal(secret, associatedData),
      row.access_key_id,
    ]);
  }
  return rows.length;
}
