/**
 * The embedded Lake catalog: one SQLite database in WAL mode (`<data-dir>/lake/lake.db`). Every
 * statement is prepared once; each method runs its statements synchronously (a transaction where it
 * changes more than one row) and returns a settled promise.
 */
import type Database from "better-sqlite3";
import { openPrivateDatabase } from "../../lib/sqlite-database.js";
import {
  KEY_BYTES,
  type CatalogDocument,
  type CatalogFile,
  type CommittedFile,
  type DocumentTable,
  type EventDataStore,
  type ImportFailure,
  type LakeCatalog,
} from "./lake-catalog.js";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS eds (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
    json TEXT NOT NULL
  ) STRICT;
  CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, eds_id TEXT NOT NULL, rows INTEGER NOT NULL) STRICT;
  CREATE INDEX IF NOT EXISTS files_by_store ON files (eds_id);
  CREATE TABLE IF NOT EXISTS event_keys (
    eds_id TEXT NOT NULL, key BLOB NOT NULL, PRIMARY KEY (eds_id, key)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS queries (id TEXT PRIMARY KEY, account_id TEXT NOT NULL, json TEXT NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS imports (id TEXT PRIMARY KEY, account_id TEXT NOT NULL, json TEXT NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS channels (id TEXT PRIMARY KEY, account_id TEXT NOT NULL, json TEXT NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS import_failures (
    import_id TEXT NOT NULL, seq INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (import_id, seq)
  ) STRICT;
`;

/** De-duplication keys looked up per statement. */
const KEYS_PER_LOOKUP = 100;

const DOCUMENT_TABLES: readonly DocumentTable[] = ["queries", "imports", "channels"];

interface JsonRow {
  readonly json: string;
}

function prepareStatements(db: Database.Database) {
  return {
    putStore: db.prepare("INSERT OR REPLACE INTO eds (id, account_id, region, name, json) VALUES (?, ?, ?, ?, ?)"),
    store: db.prepare<[string], JsonRow>("SELECT json FROM eds WHERE id = ?"),
    allStores: db.prepare<[], JsonRow>("SELECT json FROM eds ORDER BY id"),
    accountStores: db.prepare<[string], JsonRow>("SELECT json FROM eds WHERE account_id = ? ORDER BY id"),
    deleteStore: db.prepare("DELETE FROM eds WHERE id = ?"),
    deleteStoreFiles: db.prepare("DELETE FROM files WHERE eds_id = ?"),
    deleteStoreKeys: db.prepare("DELETE FROM event_keys WHERE eds_id = ?"),
    cursor: db.prepare<[], { value: number }>("SELECT value FROM state WHERE key = 'cursor'"),
    putCursor: db.prepare("INSERT OR REPLACE INTO state (key, value) VALUES ('cursor', ?)"),
    putFile: db.prepare("INSERT OR REPLACE INTO files (path, eds_id, rows) VALUES (?, ?, ?)"),
    insertFile: db.prepare("INSERT INTO files (path, eds_id, rows) VALUES (?, ?, ?)"),
    fileOwner: db.prepare<[string], { eds_id: string }>("SELECT eds_id FROM files WHERE path = ?"),
    deleteFile: db.prepare("DELETE FROM files WHERE path = ?"),
    paths: db.prepare<[], { path: string }>("SELECT path FROM files"),
    storeFiles: db.prepare<[string], { path: string }>("SELECT path FROM files WHERE eds_id = ? ORDER BY path"),
    allFiles: db.prepare<[], { path: string; eds_id: string; rows: number }>(
      "SELECT path, eds_id, rows FROM files ORDER BY path",
    ),
    putKey: db.prepare("INSERT OR IGNORE INTO event_keys (eds_id, key) VALUES (?, ?)"),
    // A fixed number of parameters, so one prepared statement serves every batch (hasKeys pads the last).
    hasKeys: db
      .prepare<unknown[], [Buffer]>(
        `SELECT key FROM event_keys WHERE eds_id = ? AND key IN (${Array(KEYS_PER_LOOKUP).fill("?").join(", ")})`,
      )
      .raw(true),
    failureCount: db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM import_failures WHERE import_id = ?"),
    putFailure: db.prepare("INSERT INTO import_failures (import_id, seq, json) VALUES (?, ?, ?)"),
    clearFailures: db.prepare("DELETE FROM import_failures WHERE import_id = ?"),
    failures: db.prepare<[string, number, number], JsonRow>(
      "SELECT json FROM import_failures WHERE import_id = ? ORDER BY seq LIMIT ? OFFSET ?",
    ),
  };
}

/** The statements of one document table (the table name cannot be a parameter). */
function prepareDocumentStatements(db: Database.Database, table: DocumentTable) {
  return {
    put: db.prepare(`INSERT OR REPLACE INTO ${table} (id, account_id, json) VALUES (?, ?, ?)`),
    get: db.prepare<[string, string], JsonRow>(`SELECT json FROM ${table} WHERE id = ? AND account_id = ?`),
    find: db.prepare<[string], JsonRow>(`SELECT json FROM ${table} WHERE id = ?`),
    all: db.prepare<[], JsonRow>(`SELECT json FROM ${table}`),
    ofAccount: db.prepare<[string], JsonRow>(`SELECT json FROM ${table} WHERE account_id = ?`),
    delete: db.prepare(`DELETE FROM ${table} WHERE id = ? AND account_id = ?`),
  };
}

const parse = <T>(row: JsonRow | undefined): T | undefined => (row ? (JSON.parse(row.json) as T) : undefined);
const parseAll = <T>(rows: readonly JsonRow[]): T[] => rows.map((row) => JSON.parse(row.json) as T);

class SqliteLakeCatalog implements LakeCatalog {
  private readonly db: Database.Database;
  private readonly sql: ReturnType<typeof prepareStatements>;
  private readonly docs: ReadonlyMap<DocumentTable, ReturnType<typeof prepareDocumentStatements>>;

  constructor(path: string) {
    this.db = openPrivateDatabase(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
    this.sql = prepareStatements(this.db);
    this.docs = new Map(DOCUMENT_TABLES.map((table) => [table, prepareDocumentStatements(this.db, table)]));
  }

  async close(): Promise<void> {
    this.db.close();
  }

  async putStore(store: EventDataStore): Promise<void> {
    this.sql.putStore.run(store.id, store.accountId, store.region, store.name, JSON.stringify(store));
  }

  async store(id: string): Promise<EventDataStore | undefined> {
    return parse<EventDataStore>(this.sql.store.get(id));
  }

  async stores(accountId?: string): Promise<EventDataStore[]> {
    const rows = accountId === undefined ? this.sql.allStores.all() : this.sql.accountStores.all(accountId);
    return parseAll<EventDataStore>(rows);
  }

  async deleteStore(id: string): Promise<void> {
    this.db.transaction(() => {
      this.sql.deleteStore.run(id);
      this.sql.deleteStoreFiles.run(id);
      this.sql.deleteStoreKeys.run(id);
    })();
  }

  async cursor(): Promise<number> {
    return this.sql.cursor.get()?.value ?? 0;
  }

  async commitFiles(files: readonly CommittedFile[], cursor?: number): Promise<void> {
    this.db.transaction(() => {
      for (const file of files) {
        this.sql.putFile.run(file.path, file.edsId, file.rows);
        // In key order: the index's pages are then visited in one sweep, not at random (an import
        // commits 100,000 keys at a time into a table of millions).
        for (const key of [...file.keys].sort(Buffer.compare)) {
          if (key.length !== KEY_BYTES)
            throw new Error(`A de-duplication key has ${key.length} bytes, not ${KEY_BYTES}.`);
          this.sql.putKey.run(file.edsId, key);
        }
      }
      if (cursor !== undefined) this.sql.putCursor.run(cursor);
    })();
  }

  async committedPaths(): Promise<Set<string>> {
    return new Set(this.sql.paths.all().map((row) => row.path));
  }

  async storeFiles(edsId: string): Promise<string[]> {
    return this.sql.storeFiles.all(edsId).map((row) => row.path);
  }

  async allFiles(): Promise<CatalogFile[]> {
    return this.sql.allFiles.all().map((row) => ({ path: row.path, edsId: row.eds_id, rows: row.rows }));
  }

  async replaceFiles(merged: CatalogFile, replaced: readonly string[]): Promise<boolean> {
    return this.db.transaction(() => {
      if (replaced.some((path) => this.sql.fileOwner.get(path)?.eds_id !== merged.edsId)) return false;
      if (this.sql.store.get(merged.edsId) === undefined) return false;
      for (const path of replaced) this.sql.deleteFile.run(path);
      this.sql.insertFile.run(merged.path, merged.edsId, merged.rows);
      return true;
    })();
  }

  async forgetFiles(paths: readonly string[]): Promise<void> {
    this.db.transaction(() => paths.forEach((path) => this.sql.deleteFile.run(path)))();
  }

  async hasKeys(edsId: string, keys: readonly Buffer[]): Promise<boolean[]> {
    // KEYS_PER_LOOKUP keys per statement: half the time of one statement per key, which took a sixth
    // of an import's main thread at 1M events (docs/decisions/0022-import-rate.md).
    const found = new Set<string>();
    for (let start = 0; start < keys.length; start += KEYS_PER_LOOKUP) {
      const part = keys.slice(start, start + KEYS_PER_LOOKUP);
      while (part.length < KEYS_PER_LOOKUP) part.push(part[0]!);
      for (const [key] of this.sql.hasKeys.all(edsId, ...part)) found.add(key.toString("latin1"));
    }
    return keys.map((key) => found.has(key.toString("latin1")));
  }

  private table(table: DocumentTable): ReturnType<typeof prepareDocumentStatements> {
    const statements = this.docs.get(table);
    if (statements === undefined) throw new Error(`Unknown catalog document table ${String(table)}`);
    return statements;
  }

  async putDocument<T extends CatalogDocument>(table: DocumentTable, document: T): Promise<void> {
    this.table(table).put.run(document.id, document.accountId, JSON.stringify(document));
  }

  async document<T extends CatalogDocument>(
    table: DocumentTable,
    id: string,
    accountId: string,
  ): Promise<T | undefined> {
    return parse<T>(this.table(table).get.get(id, accountId));
  }

  async findDocument<T extends CatalogDocument>(table: DocumentTable, id: string): Promise<T | undefined> {
    return parse<T>(this.table(table).find.get(id));
  }

  async documents<T extends CatalogDocument>(table: DocumentTable, accountId?: string): Promise<T[]> {
    const statements = this.table(table);
    return parseAll<T>(accountId === undefined ? statements.all.all() : statements.ofAccount.all(accountId));
  }

  async deleteDocument(table: DocumentTable, id: string, accountId: string): Promise<void> {
    this.table(table).delete.run(id, accountId);
  }

  async addImportFailures(importId: string, failures: readonly ImportFailure[]): Promise<void> {
    if (failures.length === 0) return;
    this.db.transaction(() => {
      const first = this.sql.failureCount.get(importId)?.n ?? 0;
      failures.forEach((failure, i) => this.sql.putFailure.run(importId, first + i, JSON.stringify(failure)));
    })();
  }

  async clearImportFailures(importId: string): Promise<void> {
    this.sql.clearFailures.run(importId);
  }

  async importFailures(importId: string, offset: number, limit: number): Promise<ImportFailure[]> {
    return parseAll<ImportFailure>(this.sql.failures.all(importId, limit, offset));
  }
}

/** Opens (creating if needed) the SQLite catalog at `path`, normally `<data-dir>/lake/lake.db`. */
export async function openSqliteLakeCatalog(path: string): Promise<LakeCatalog> {
  return new SqliteLakeCatalog(path);
}

/**
 * Up to `limit` de-duplication keys of one event data store in the catalog at `path` (read-only),
 * in key order after `afterKey`, for copying the store elsewhere a page at a time (`cairn migrate
 * --to-cluster`): the contract only answers whether given keys are there.
 */
export function readSqliteLakeKeys(path: string, edsId: string, afterKey: Buffer, limit: number): Buffer[] {
  const db = openPrivateDatabase(path, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare<[string, Buffer, number], Buffer>(
        "SELECT key FROM event_keys WHERE eds_id = ? AND key > ? ORDER BY key LIMIT ?",
      )
      .pluck()
      .all(edsId, afterKey, limit);
  } finally {
    db.close();
  }
}
