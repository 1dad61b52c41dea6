import { openSchemaDatabase } from "../../lib/sqlite-database.js";
import Database from "better-sqlite3";
import { PrincipalExistsError, type Principal, type PrincipalStore, type PrincipalType } from "./principal.js";

interface PrincipalRow {
  access_key_id: string;
  secret_access_key: string;
  name: string;
  type: PrincipalType;
  account_id: string;
  principal_id: string;
  created_at_ms: number;
}

// `user_version` numbers the schema so a later release can migrate a data dir in place.
const SCHEMA_VERSION = 1;
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
`;

/** A CLI process may hold the write lock for a moment while the server reads; wait rather than fail. */

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
export function openSqlitePrincipalStore(path: string): PrincipalStore {
  // Keys are few and precious: pay for a full fsync on every commit.
  const db = openSchemaDatabase(path, { schema: SCHEMA, schemaVersion: SCHEMA_VERSION, synchronous: "FULL" });

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
      try {
        insertStatement.run(toRow(principal));
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
    async close() {
      db.close();
    },
  };
}

function isPrimaryKeyConflict(error: unknown): boolean {
  return error instanceof Database.SqliteError && error.code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

function toRow(principal: Principal): PrincipalRow {
  return {
    access_key_id: principal.accessKeyId,
    secret_access_key: principal.secretAccessKey,
    name: principal.name,
    type: principal.type,
    account_id: principal.accountId,
    principal_id: principal.principalId,
    created_at_ms: principal.createdAtMs,
  };
}

function fromRow(row: PrincipalRow): Principal {
  return {
    name: row.name,
    type: row.type,
    accountId: row.account_id,
    accessKeyId: row.access_key_id,
    secretAccessKey: row.secret_access_key,
    principalId: row.principal_id,
    createdAtMs: row.created_at_ms,
  };
}
