import type { Queryable } from "./postgres-database.js";

/** Bound values per statement, well under PostgreSQL's 65,535. */
const VALUES_PER_STATEMENT = 10_000;

/**
 * Inserts `rows` (each in `columns` order) into `table`, many rows a statement, skipping a row that
 * conflicts with one the table holds (`ON CONFLICT DO NOTHING`): for imports that copy rows as
 * another backend stored them. `table` and `columns` are the caller's constants, never input.
 * Resolves how many rows were added.
 *
 * @example await insertRows(tx, "cairn_sigma_rules", ["account_id", "id"], [["111122223333", "r1"]]);
 */
export async function insertRows(
  tx: Queryable,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
): Promise<number> {
  const perStatement = Math.max(1, Math.floor(VALUES_PER_STATEMENT / columns.length));
  let added = 0;
  for (let start = 0; start < rows.length; start += perStatement) {
    const page = rows.slice(start, start + perStatement);
    const tuples = page.map(
      (_, row) => `(${columns.map((__, column) => `$${row * columns.length + column + 1}`).join(", ")})`,
    );
    const inserted = await tx.query(
      `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${tuples.join(", ")} ON CONFLICT DO NOTHING RETURNING 1`,
      page.flat(),
    );
    added += inserted.length;
  }
  return added;
}
