import { openSchemaDatabase } from "../../lib/sqlite-database.js";
import { pageOf, savedQueryOf, type SavedQueryRow, type SavedQueryStore } from "./saved-query-store.js";

const SCHEMA_VERSION = 1;
// BINARY collation: names order by their bytes, as PostgreSQL's COLLATE "C" orders them.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS saved_queries (
    account_id  TEXT NOT NULL,
    owner       TEXT NOT NULL,
    name        TEXT NOT NULL,
    statement   TEXT NOT NULL,
    description TEXT,
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL,
    PRIMARY KEY (account_id, owner, name)
  ) STRICT;
`;

/**
 * Opens (creating) the embedded saved-query store, `<data-dir>/saved-queries.db`. A put is one
 * transaction (count, then upsert), so the per-owner limit holds against other connections too.
 *
 * @example const saved = openSqliteSavedQueryStore(join(dataDir, "saved-queries.db"));
 */
export function openSqliteSavedQueryStore(path: string): SavedQueryStore {
  const db = openSchemaDatabase(path, { schema: SCHEMA, schemaVersion: SCHEMA_VERSION, synchronous: "FULL" });
  const find = db.prepare<[string, string, string], SavedQueryRow>(
    "SELECT * FROM saved_queries WHERE account_id = ? AND owner = ? AND name = ?",
  );
  const count = db.prepare<[string, string], { n: number }>(
    "SELECT count(*) AS n FROM saved_queries WHERE account_id = ? AND owner = ?",
  );
  const upsert = db.prepare(
    `INSERT INTO saved_queries (account_id, owner, name, statement, description, created_ms, updated_ms)
     VALUES (@accountId, @owner, @name, @statement, @description, @createdMs, @updatedMs)
     ON CONFLICT (account_id, owner, name) DO UPDATE SET
       statement = excluded.statement, description = excluded.description, updated_ms = excluded.updated_ms`,
  );
  const page = db.prepare<[string, string, string, number], SavedQueryRow>(
    "SELECT * FROM saved_queries WHERE account_id = ? AND owner = ? AND name > ? ORDER BY name LIMIT ?",
  );
  const remove = db.prepare("DELETE FROM saved_queries WHERE account_id = ? AND owner = ? AND name = ?");
  let closed = false;
  const open = (): void => {
    if (closed) throw new Error("The saved-query store is closed.");
  };
  const put = db.transaction((query: Parameters<SavedQueryStore["put"]>[0], limit: number) => {
    const existing = find.get(query.accountId, query.owner, query.name);
    if (existing === undefined && count.get(query.accountId, query.owner)!.n >= limit)
      return { saved: undefined, created: false };
    upsert.run({ ...query, description: query.description ?? null });
    return { saved: savedQueryOf(find.get(query.accountId, query.owner, query.name)!), created: !existing };
  });

  // better-sqlite3 is synchronous: each method does its work at once and hands back a settled promise.
  return {
    async put(query, limit) {
      open();
      return put.immediate(query, limit);
    },
    async list(accountId, owner, { max, after }) {
      open();
      return pageOf(page.all(accountId, owner, after ?? "", max + 1), max);
    },
    async delete(accountId, owner, name) {
      open();
      return remove.run(accountId, owner, name).changes > 0;
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
