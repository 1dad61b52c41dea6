import { chmodSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { errorCode } from "./error-code.js";
import { makePrivateDirectorySync, PRIVATE_FILE_MODE } from "./file-modes.js";

/** How long a writer waits for another process's lock (the CLI and the server share some files). */
const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating) an SQLite file readable by this user only, whatever the umask: its directory is
 * made 0700 and the file 0600 before any journal exists, and SQLite gives its -wal, -shm and
 * -journal files the database file's mode. Journal files left by an older Cairn are fixed too.
 */
export function openPrivateDatabase(path: string, options: Database.Options = {}): Database.Database {
  makePrivateDirectorySync(dirname(path));
  const db = new Database(path, options);
  chmodSync(path, PRIVATE_FILE_MODE);
  for (const suffix of ["-wal", "-shm", "-journal"]) {
    try {
      chmodSync(path + suffix, PRIVATE_FILE_MODE);
    } catch (error) {
      // Absent, or removed meanwhile by another connection closing: nothing to fix.
      if (errorCode(error) !== "ENOENT") throw error;
    }
  }
  return db;
}

export interface SchemaDatabaseOptions {
  readonly schema: string;
  readonly schemaVersion: number;
  readonly synchronous: "FULL" | "NORMAL";
  /**
   * Brings rows written under an older `user_version` (≥ 1) up to `schemaVersion`; it runs after the
   * schema, in the same write transaction that records the new version, so two processes opening an
   * old file at once upgrade it once. Throwing leaves the file as it was and fails the open.
   */
  readonly upgrade?: (db: Database.Database, fromVersion: number) => void;
}

/**
 * Opens (creating) an SQLite file in WAL mode with the given schema, refusing files written by a newer
 * Cairn. `synchronous: "FULL"` for small, precious stores (keys, trails) where every commit must survive
 * a power cut.
 */
export function openSchemaDatabase(path: string, options: SchemaDatabaseOptions): Database.Database {
  const db = openPrivateDatabase(path);
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${options.synchronous}`);
    const currentVersion = () => db.pragma("user_version", { simple: true }) as number;
    const refuseNewer = (version: number) => {
      if (version <= options.schemaVersion) return;
      throw new Error(
        `${path} was written by a newer Cairn (schema ${version}; this build knows ${options.schemaVersion}).`,
      );
    };
    refuseNewer(currentVersion());
    db.exec(options.schema);
    if (currentVersion() !== options.schemaVersion) {
      // IMMEDIATE: take the write lock before reading the version, so a concurrent opener waits and
      // then sees the version this one wrote.
      db.transaction(() => {
        const version = currentVersion();
        refuseNewer(version);
        if (version >= 1 && version < options.schemaVersion) options.upgrade?.(db, version);
        db.pragma(`user_version = ${options.schemaVersion}`);
      }).immediate();
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Runs `write` (its own transaction) with its commit left unsynced, on a `synchronous: "FULL"` store:
 * for a commit that only moves a derived consumer's cursor, whose loss in a power cut re-derives the
 * same nothing from the journal. In WAL mode a power cut loses only a tail of commits, and the next
 * FULL commit's fsync covers every commit before it, so no FULL commit is ever lost behind it
 * (decision 0020, point 5).
 */
export function commitUnsynced<T>(db: Database.Database, write: () => T): T {
  db.pragma("synchronous = NORMAL");
  try {
    return write();
  } finally {
    db.pragma("synchronous = FULL");
  }
}
