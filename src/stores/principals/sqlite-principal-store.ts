import { openSchemaDatabase } from "../../lib/sqlite-database.js";
import { isSealed, SecretEnvelopeError, type MasterKey } from "../../lib/secret-envelope.js";
import Database from "better-sqlite3";
import { existsSync } from "node:fs";
import { secretAssociatedData } from "./keys.js";
import { PrincipalExistsError, type Principal, type PrincipalStore, type PrincipalType } from "./principal.js";
import {
  backfillUsers,
  ensureUserStatement,
  IAM_ENTITIES_SCHEMA,
  readIamDirectory,
  sqliteIamEntities,
  type IamDirectory,
} from "./sqlite-iam-entities.js";

interface PrincipalRow {
  access_key_id: string;
  /** Sealed with the master key (schema 2; docs/reference/security.md); plaintext in schema 1. */
  secret_access_key: string;
  name: string;
  type: PrincipalType;
  account_id: string;
  principal_id: string;
  created_at_ms: number;
}

// `user_version` numbers the schema so a later release can migrate a data dir in place.
// 1: secrets in plaintext. 2: secrets sealed with the master key. 3: users and their policies.
const SCHEMA_VERSION = 3;
const SEALED_SINCE_VERSION = 2;
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS principals (
    access_key_id     TEXT PRIMARY KEY,
    secret_access_key TEXT NOT NULL,
    name              TEXT NOT NULL,
    type              TEXT NOT NULL CHECK (type IN ('Root', 'IAMUser', 'AssumedRole')),
    account_id        TEXT NOT NULL,
    principal_id      TEXT NOT NULL,
    created_at_ms     INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS principals_by_account ON principals (account_id, type, name);
  ${IAM_ENTITIES_SCHEMA}
`;

export interface SqlitePrincipalStoreOptions {
  /**
   * Seals secrets on `add` and opens them on reads. Without it the store reads identities only (the
   * proxy's recording worker): secrets come back as "", `add` rejects, and a file still holding
   * plaintext secrets is refused rather than upgraded.
   */
  readonly masterKey?: MasterKey;
}

/** A stored secret cannot be read with the master key given (or none was given to upgrade the file). */
class PrincipalSecretsError extends Error {
  override readonly name = "PrincipalSecretsError";
}

/**
 * Whether `principals.db` at `path` holds sealed secrets (schema 2 and at least one principal), read
 * without creating it or changing its rows: the master key resolver asks before generating a key.
 */
export function principalsAreSealed(path: string): boolean {
  if (!existsSync(path)) return false;
  const db = new Database(path, { fileMustExist: true });
  try {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version < SEALED_SINCE_VERSION) return false;
    return db.prepare("SELECT 1 FROM principals LIMIT 1").get() !== undefined;
  } finally {
    db.close();
  }
}

/**
 * Opens (creating if needed) `principals.db`. The server and `cairn principal add` open the same file
 * at the same time: WAL mode lets the server read while the CLI writes, and every lookup runs its own
 * query, so a key added by another process is seen by the next request without a restart.
 *
 * The methods are async for the contract's sake; the queries themselves run synchronously, so a
 * lookup costs no more than before (no thread hop, no extra I/O).
 *
 * @example
 * const store = openSqlitePrincipalStore(join(dataDir, "principals.db"));
 */
export function openSqlitePrincipalStore(path: string, options: SqlitePrincipalStoreOptions = {}): PrincipalStore {
  const { masterKey } = options;
  // Keys are few and precious: pay for a full fsync on every commit.
  const db = openSchemaDatabase(path, {
    schema: SCHEMA,
    schemaVersion: SCHEMA_VERSION,
    synchronous: "FULL",
    upgrade: (database) => {
      sealPlaintextSecrets(database, path, masterKey);
      backfillUsers(database);
    },
  });
  const ensureUser = ensureUserStatement(db);
  const fromRow = (row: PrincipalRow): Principal => principalOf(row, masterKey === undefined ? "" : openSecret(row));
  const openSecret = (row: PrincipalRow): string => {
    try {
      return masterKey!.open(row.secret_access_key, secretAssociatedData(row.access_key_id));
    } catch (error) {
      if (!(error instanceof SecretEnvelopeError)) throw error;
      throw new PrincipalSecretsError(
        `${path}: the secret of access key ${row.access_key_id} does not open with master key ${masterKey!.id}. ` +
          "Is CAIRN_MASTER_KEY (or CAIRN_MASTER_KEY_FILE, or the data directory's master.key) the key this data directory was sealed with?",
      );
    }
  };

  const { findStatement, listStatement, listByAccountStatement, insertStatement, removeStatement } =
    prepareStatements(db);
  if (masterKey !== undefined) {
    // Fail at open, not at some later request: every secret must open with this key.
    try {
      for (const row of listStatement.iterate()) openSecret(row);
    } catch (error) {
      db.close();
      throw error;
    }
  }
  const find = (accessKeyId: string): Principal | undefined => {
    const row = findStatement.get(accessKeyId);
    return row === undefined ? undefined : fromRow(row);
  };

  return {
    async findByAccessKeyId(accessKeyId) {
      return find(accessKeyId);
    },
    async findByAccessKeyIds(accessKeyIds) {
      // Point lookups on the primary key: as cheap per key as one IN query, and no statement per batch size.
      const found = new Map<string, Principal>();
      for (const accessKeyId of new Set(accessKeyIds)) {
        const principal = find(accessKeyId);
        if (principal !== undefined) found.set(accessKeyId, principal);
      }
      return found;
    },
    async add(principal) {
      if (masterKey === undefined)
        throw new PrincipalSecretsError(`${path} was opened without the master key; cannot add.`);
      try {
        db.transaction(() => {
          insertStatement.run(toRow(principal, masterKey));
          if (principal.type === "IAMUser") ensureUser.run(userRowOf(principal));
        })();
      } catch (error) {
        if (isPrimaryKeyConflict(error)) {
          throw new PrincipalExistsError(`Access key id ${principal.accessKeyId} already exists.`);
        }
        throw error;
      }
    },
    async list(filter = {}) {
      const rows = filter.accountId === undefined ? listStatement.all() : listByAccountStatement.all(filter.accountId);
      return rows.map(fromRow);
    },
    async remove(accessKeyId) {
      return removeStatement.run(accessKeyId).changes > 0;
    },
    ...sqliteIamEntities(db),
    async close() {
      db.close();
    },
  };
}

function userRowOf(principal: Principal) {
  return {
    account_id: principal.accountId,
    user_name: principal.name,
    user_id: principal.principalId,
    path: "/",
    created_at_ms: principal.createdAtMs,
  };
}

function prepareStatements(db: Database.Database) {
  const findStatement = db.prepare<[string], PrincipalRow>("SELECT * FROM principals WHERE access_key_id = ?");
  const listStatement = db.prepare<[], PrincipalRow>("SELECT * FROM principals ORDER BY created_at_ms, access_key_id");
  const listByAccountStatement = db.prepare<[string], PrincipalRow>(
    "SELECT * FROM principals WHERE account_id = ? ORDER BY created_at_ms, access_key_id",
  );
  const insertStatement = db.prepare<[PrincipalRow]>(
    `INSERT INTO principals (access_key_id, secret_access_key, name, type, account_id, principal_id, created_at_ms)
     VALUES (@access_key_id, @secret_access_key, @name, @type, @account_id, @principal_id, @created_at_ms)`,
  );
  const removeStatement = db.prepare<[string]>("DELETE FROM principals WHERE access_key_id = ?");
  return { findStatement, listStatement, listByAccountStatement, insertStatement, removeStatement };
}

function isPrimaryKeyConflict(error: unknown): boolean {
  return error instanceof Database.SqliteError && error.code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/** Schema 1 → 2: seals every plaintext secret, in the transaction that records schema 2. */
function sealPlaintextSecrets(db: Database.Database, path: string, masterKey: MasterKey | undefined): void {
  const rows = db.prepare<[], PrincipalRow>("SELECT * FROM principals").all();
  const plaintext = rows.filter((row) => !isSealed(row.secret_access_key));
  if (plaintext.length === 0) return;
  if (masterKey === undefined) {
    throw new PrincipalSecretsError(
      `${path} holds plaintext secret access keys from an older Cairn; start \`cairn server\` once (or give the master key) to seal them.`,
    );
  }
  const update = db.prepare<[string, string]>("UPDATE principals SET secret_access_key = ? WHERE access_key_id = ?");
  for (const row of plaintext) {
    update.run(masterKey.seal(row.secret_access_key, secretAssociatedData(row.access_key_id)), row.access_key_id);
  }
}

function toRow(principal: Principal, masterKey: MasterKey): PrincipalRow {
  return {
    access_key_id: principal.accessKeyId,
    secret_access_key: masterKey.seal(principal.secretAccessKey, secretAssociatedData(principal.accessKeyId)),
    name: principal.name,
    type: principal.type,
    account_id: principal.accountId,
    principal_id: principal.principalId,
    created_at_ms: principal.createdAtMs,
  };
}

function principalOf(row: PrincipalRow, secretAccessKey: string): Principal {
  return {
    name: row.name,
    type: row.type,
    accountId: row.account_id,
    accessKeyId: row.access_key_id,
    secretAccessKey,
    principalId: row.principal_id,
    createdAtMs: row.created_at_ms,
  };
}

/**
 * The accounts and policy holders of the principals file at `path` (read-only; empty when there is
 * no file), for walking its users and policies through the contract (`cairn migrate --to-cluster`).
 */
export function readSqliteIamDirectory(path: string): IamDirectory {
  if (!existsSync(path)) return { accountIds: [], holders: [] };
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return readIamDirectory(db);
  } finally {
    db.close();
  }
}
