/**
 * Lake's control-plane database (`<data-dir>/lake/lake.db`, SQLite WAL): event data stores, the
 * Parquet files that are committed, the de-duplication keys per store, the consumer cursor, queries
 * and imports. A Parquet file counts only once its row is here: files and keys are recorded in the
 * same transaction as the cursor (or the import's progress), so a crash leaves either both or neither.
 */
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { AdvancedEventSelector } from "../../selectors/selector-types.js";

export type EdsStatus = "CREATED" | "ENABLED" | "PENDING_DELETION" | "STOPPED_INGESTION";

export interface EventDataStore {
  readonly id: string;
  readonly accountId: string;
  readonly region: string;
  readonly name: string;
  readonly arn: string;
  readonly status: EdsStatus;
  readonly advancedEventSelectors: AdvancedEventSelector[];
  readonly multiRegionEnabled: boolean;
  readonly organizationEnabled: boolean;
  readonly retentionPeriod: number;
  readonly terminationProtectionEnabled: boolean;
  readonly billingMode: string;
  readonly tags: Array<{ Key: string; Value?: string }>;
  readonly createdMs: number;
  readonly updatedMs: number;
  /** When DeleteEventDataStore ran; the store is purged 7 days later. */
  readonly deletedMs?: number;
  /** Only journal entries after this seq belong to the store (a new store starts empty, as in AWS). */
  readonly fromSeq: number;
}

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

/** 16 bytes of SHA-256 of the record's dedup key: collisions are negligible and the index stays small. */
export function keyHash(dedupKey: string): Buffer {
  return createHash("sha256").update(dedupKey).digest().subarray(0, 16);
}

/** One Parquet file written and fsynced, with the keys of the rows it holds. */
export interface CommittedFile {
  readonly path: string;
  readonly edsId: string;
  readonly rows: number;
  readonly keys: readonly Buffer[];
}

/** Control-plane objects kept as JSON documents keyed by id and scoped by account. */
export type DocumentTable = "queries" | "imports" | "channels";

export class LakeDb {
  private readonly db: Database.Database;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  // Event data stores.
  putStore(store: EventDataStore): void {
    this.db
      .prepare("INSERT OR REPLACE INTO eds (id, account_id, region, name, json) VALUES (?, ?, ?, ?, ?)")
      .run(store.id, store.accountId, store.region, store.name, JSON.stringify(store));
  }

  deleteStore(id: string): void {
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM eds WHERE id = ?").run(id);
      this.db.prepare("DELETE FROM files WHERE eds_id = ?").run(id);
      this.db.prepare("DELETE FROM event_keys WHERE eds_id = ?").run(id);
    })();
  }

  store(id: string): EventDataStore | undefined {
    const row = this.db.prepare("SELECT json FROM eds WHERE id = ?").get(id) as { json: string } | undefined;
    return row ? (JSON.parse(row.json) as EventDataStore) : undefined;
  }

  stores(accountId?: string): EventDataStore[] {
    const rows = (
      accountId === undefined
        ? this.db.prepare("SELECT json FROM eds ORDER BY id").all()
        : this.db.prepare("SELECT json FROM eds WHERE account_id = ? ORDER BY id").all(accountId)
    ) as Array<{ json: string }>;
    return rows.map((row) => JSON.parse(row.json) as EventDataStore);
  }

  // Consumer cursor, committed files and keys.
  cursor(): number {
    const row = this.db.prepare("SELECT value FROM state WHERE key = 'cursor'").get() as { value: number } | undefined;
    return row?.value ?? 0;
  }

  /** Records files (and their keys) and, for the live consumer, the new cursor: one transaction. */
  commitFiles(files: readonly CommittedFile[], cursor?: number): void {
    const insertFile = this.db.prepare("INSERT OR REPLACE INTO files (path, eds_id, rows) VALUES (?, ?, ?)");
    const insertKey = this.db.prepare("INSERT OR IGNORE INTO event_keys (eds_id, key) VALUES (?, ?)");
    this.db.transaction(() => {
      for (const file of files) {
        insertFile.run(file.path, file.edsId, file.rows);
        for (const key of file.keys) insertKey.run(file.edsId, key);
      }
      if (cursor !== undefined)
        this.db.prepare("INSERT OR REPLACE INTO state (key, value) VALUES ('cursor', ?)").run(cursor);
    })();
  }

  committedPaths(): Set<string> {
    const rows = this.db.prepare("SELECT path FROM files").all() as Array<{ path: string }>;
    return new Set(rows.map((row) => row.path));
  }

  /** A store's committed files, read in one statement: a consistent snapshot for a query. */
  storeFiles(edsId: string): string[] {
    const rows = this.db.prepare("SELECT path FROM files WHERE eds_id = ? ORDER BY path").all(edsId) as Array<{
      path: string;
    }>;
    return rows.map((row) => row.path);
  }

  /** Every committed file with its store and row count (compaction planning). */
  allFiles(): Array<{ path: string; edsId: string; rows: number }> {
    const rows = this.db.prepare("SELECT path, eds_id, rows FROM files ORDER BY path").all() as Array<{
      path: string;
      eds_id: string;
      rows: number;
    }>;
    return rows.map((row) => ({ path: row.path, edsId: row.eds_id, rows: row.rows }));
  }

  /**
   * Compaction's swap, one transaction: records the merged file and forgets the files it replaces.
   * Changes nothing and answers false when one of them is no longer committed to that store (the
   * retention sweep or a store purge got there first), so rows are never counted twice or lost.
   */
  replaceFiles(merged: { path: string; edsId: string; rows: number }, replaced: readonly string[]): boolean {
    const owner = this.db.prepare("SELECT eds_id FROM files WHERE path = ?");
    const remove = this.db.prepare("DELETE FROM files WHERE path = ?");
    return this.db.transaction(() => {
      for (const path of replaced)
        if ((owner.get(path) as { eds_id: string } | undefined)?.eds_id !== merged.edsId) return false;
      if (this.store(merged.edsId) === undefined) return false;
      for (const path of replaced) remove.run(path);
      this.db
        .prepare("INSERT INTO files (path, eds_id, rows) VALUES (?, ?, ?)")
        .run(merged.path, merged.edsId, merged.rows);
      return true;
    })();
  }

  forgetFiles(paths: readonly string[]): void {
    const remove = this.db.prepare("DELETE FROM files WHERE path = ?");
    this.db.transaction(() => paths.forEach((path) => remove.run(path)))();
  }

  private hasKeyStatement: Database.Statement | undefined;

  hasKey(edsId: string, key: Buffer): boolean {
    // Prepared once: imports ask for every record, and preparing costs more than the lookup.
    this.hasKeyStatement ??= this.db.prepare("SELECT 1 FROM event_keys WHERE eds_id = ? AND key = ?");
    return this.hasKeyStatement.get(edsId, key) !== undefined;
  }

  // Queries and imports: JSON documents keyed by id, scoped by account.
  putDocument(table: DocumentTable, id: string, accountId: string, document: object): void {
    this.db
      .prepare(`INSERT OR REPLACE INTO ${table} (id, account_id, json) VALUES (?, ?, ?)`)
      .run(id, accountId, JSON.stringify(document));
  }

  document<T>(table: DocumentTable, id: string, accountId: string): T | undefined {
    const row = this.db.prepare(`SELECT json FROM ${table} WHERE id = ? AND account_id = ?`).get(id, accountId) as
      { json: string } | undefined;
    return row ? (JSON.parse(row.json) as T) : undefined;
  }

  documents<T>(table: DocumentTable, accountId?: string): T[] {
    const rows = (
      accountId === undefined
        ? this.db.prepare(`SELECT json FROM ${table}`).all()
        : this.db.prepare(`SELECT json FROM ${table} WHERE account_id = ?`).all(accountId)
    ) as Array<{ json: string }>;
    return rows.map((row) => JSON.parse(row.json) as T);
  }

  deleteDocument(table: DocumentTable, id: string): void {
    this.db.prepare(`DELETE FROM ${table} WHERE id = ?`).run(id);
  }

  addImportFailure(importId: string, failure: object): void {
    this.db
      .prepare(
        "INSERT INTO import_failures (import_id, seq, json) VALUES (?, (SELECT COUNT(*) FROM import_failures WHERE import_id = ?), ?)",
      )
      .run(importId, importId, JSON.stringify(failure));
  }

  importFailures<T>(importId: string, offset: number, limit: number): T[] {
    const rows = this.db
      .prepare("SELECT json FROM import_failures WHERE import_id = ? ORDER BY seq LIMIT ? OFFSET ?")
      .all(importId, limit, offset) as Array<{ json: string }>;
    return rows.map((row) => JSON.parse(row.json) as T);
  }
}
