import { migrate, type Migration, type PostgresDatabase } from "../postgres/index.js";
import { pageOf, savedQueryOf, type SavedQueryRow, type SavedQueryStore } from "./saved-query-store.js";

export const SAVED_QUERY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "saved queries",
    sql: `CREATE TABLE cairn_saved_queries (
            account_id  TEXT NOT NULL,
            owner       TEXT NOT NULL,
            name        TEXT COLLATE "C" NOT NULL,
            statement   TEXT NOT NULL,
            description TEXT,
            created_ms  BIGINT NOT NULL,
            updated_ms  BIGINT NOT NULL,
            PRIMARY KEY (account_id, owner, name)
          )`,
  },
];

/**
 * Opens (migrating) the cluster saved-query store on `db`. A put runs in one transaction that first
 * locks the owner (an advisory lock on the account and owner), so two nodes saving new names for
 * one owner at once cannot both pass the limit. Closing the store leaves `db` open.
 *
 * @example const saved = await openPostgresSavedQueryStore(db);
 */
export async function openPostgresSavedQueryStore(db: PostgresDatabase): Promise<SavedQueryStore> {
  await migrate(db, "saved-queries", SAVED_QUERY_MIGRATIONS);
  let closed = false;
  const open = (): void => {
    if (closed) throw new Error("The saved-query store is closed.");
  };
  return {
    async put(query, limit) {
      open();
      return db.transaction(async (tx) => {
        await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))", [
          query.accountId,
          query.owner,
        ]);
        const [existing] = await tx.query<{ n: string }>(
          "SELECT 1 AS n FROM cairn_saved_queries WHERE account_id = $1 AND owner = $2 AND name = $3",
          [query.accountId, query.owner, query.name],
        );
        if (existing === undefined) {
          const [counted] = await tx.query<{ n: string }>(
            "SELECT count(*) AS n FROM cairn_saved_queries WHERE account_id = $1 AND owner = $2",
            [query.accountId, query.owner],
          );
          if (Number(counted!.n) >= limit) return { saved: undefined, created: false };
        }
        const [row] = await tx.query<SavedQueryRow>(
          `INSERT INTO cairn_saved_queries (account_id, owner, name, statement, description, created_ms, updated_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (account_id, owner, name) DO UPDATE SET
             statement = EXCLUDED.statement, description = EXCLUDED.description, updated_ms = EXCLUDED.updated_ms
           RETURNING *`,
          [
            ...[query.accountId, query.owner, query.name, query.statement, query.description ?? null],
            ...[query.createdMs, query.updatedMs],
          ],
        );
        return { saved: savedQueryOf(row!), created: existing === undefined };
      });
    },
    async list(accountId, owner, { max, after }) {
      open();
      const rows = await db.query<SavedQueryRow>(
        `SELECT * FROM cairn_saved_queries WHERE account_id = $1 AND owner = $2 AND name > $3
         ORDER BY name LIMIT $4`,
        [accountId, owner, after ?? "", max + 1],
      );
      return pageOf(rows, max);
    },
    async delete(accountId, owner, name) {
      open();
      const rows = await db.query(
        "DELETE FROM cairn_saved_queries WHERE account_id = $1 AND owner = $2 AND name = $3 RETURNING 1",
        [accountId, owner, name],
      );
      return rows.length > 0;
    },
    async close() {
      closed = true;
    },
  };
}
