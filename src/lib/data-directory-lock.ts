import { join } from "node:path";
import type Database from "better-sqlite3";
import { openPrivateDatabase } from "./sqlite-database.js";

/** The file whose lock says a process owns the data directory (the embedded server, `cairn migrate`). */
function dataDirectoryLockPath(dataDir: string): string {
  return join(dataDir, "server.lock");
}

/** Another process holds the data directory's lock. */
class DataDirectoryLockedError extends Error {
  override readonly name = "DataDirectoryLockedError";
}

/** Held until `release()`, or until the process ends however it ends. */
export interface DataDirectoryLock {
  release(): void;
}

/**
 * Takes the data directory's lock for this process, or throws DataDirectoryLockedError when another
 * holds it. The lock is an exclusive SQLite transaction on `<data-dir>/server.lock`, which SQLite
 * takes as an OS file lock: the kernel drops it when the holder exits, a `kill -9` included, so a
 * crashed server never leaves a stale lock behind (a pid file would).
 *
 * @example const lock = lockDataDirectory(settings.dataDir); … lock.release();
 */
export function lockDataDirectory(dataDir: string): DataDirectoryLock {
  // timeout 0: a held lock is an answer, not something to wait for.
  const db = openPrivateDatabase(dataDirectoryLockPath(dataDir), { timeout: 0 });
  try {
    db.exec("BEGIN EXCLUSIVE");
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code === "SQLITE_BUSY")
      throw new DataDirectoryLockedError(
        `${dataDir} is in use by another process (a running Cairn server or cairn migrate); stop it first.`,
      );
    throw error;
  }
  return { release: () => releaseLock(db) };
}

function releaseLock(db: Database.Database): void {
  if (db.open) db.close();
}
