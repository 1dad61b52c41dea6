import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { insertRows, migrate, type PostgresDatabase } from "../postgres/index.js";
import { SAVED_QUERY_MIGRATIONS } from "./postgres-saved-query-store.js";
import { SAVED_QUERY_COLUMNS } from "./saved-query-store.js";

/**
 * Every row of `<data-dir>/saved-queries.db` (columns in SAVED_QUERY_COLUMNS order), read-only, for
 * `cairn migrate --to-cluster`. A missing file holds nothing.
 */
export function readSqliteSavedQueries(path: string): Array<readonly unknown[]> {
  if (!existsSync(path)) return [];
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare<[], Record<string, unknown>>(
        `SELECT ${SAVED_QUERY_COLUMNS.join(", ")} FROM saved_queries ORDER BY account_id, owner, name`,
      )
      .all();
    return rows.map((row) => SAVED_QUERY_COLUMNS.map((column) => row[column]));
  } finally {
    db.close();
  }
}

/**
 * Adds the saved queries the cluster does not hold (by account, owner and name; one saved on the
 * cluster meanwhile wins), in one transaction. A re-run adds nothing. Resolves how many it added.
 */
export async function importPostgresSavedQueries(
  db: PostgresDatabase,
  rows: ReadonlyArray<readonly unknown[]>,
): Promise<number> {
  await migrate(db, "saved-queries", SAVED_QUERY_MIGRATIONS);
  return db.transaction((tx) => insertRows(tx, "cairn_saved_queries", SAVED_QUERY_COLUMNS, rows));
}
