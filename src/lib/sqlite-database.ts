import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

/** How long a writer waits for another process's lock (the CLI and the server share some files). */
const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating) an SQLite file in WAL mode with the given schema, refusing files written by a newer
 * Cairn. `synchronous: "FULL"` for small, precious stores (keys, trails) where every commit must survive
 * a power cut.
 */
export function openSchemaDatabase(
  path: string,
  options: { schema: string; schemaVersion: number; synchronous: "FULL" | "NORMAL" },
): Database.Database {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${options.synchronous}`);
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > options.schemaVersion) {
    db.close();
    throw new Error(
      `${path} was written by a newer Cairn (schema ${version}; this build knows ${options.schemaVersion}).`,
    );
  }
  db.exec(options.schema);
  db.pragma(`user_version = ${options.schemaVersion}`);
  return db;
}
