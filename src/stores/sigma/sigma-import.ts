import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { insertRows, migrate, type PostgresDatabase } from "../postgres/index.js";
import { SIGMA_MIGRATIONS } from "./postgres-sigma-store.js";

const RULE_COLUMNS = ["account_id", "id", "title", "level", "yaml", "added_by", "added_at_ms"] as const;
const MATCH_COLUMNS = [
  ...["id", "account_id", "rule_id", "title", "level", "kind", "event_id", "event_time", "event_time_ms"],
  ...["events", "group_by", "matched_at_ms", "seq", "match_key"],
] as const;

/** Every row of an embedded Sigma store as stored (columns in RULE_COLUMNS / MATCH_COLUMNS order), and its cursor. */
export interface SigmaContents {
  readonly rules: readonly (readonly unknown[])[];
  readonly matches: readonly (readonly unknown[])[];
  readonly cursor: number;
}

/**
 * Reads `<data-dir>/sigma.db` whole, read-only, for `cairn migrate --to-cluster`: the rules added
 * through the API, the matches with their ids (ListSigmaMatches pages by id) and the consumer's
 * cursor. A missing file holds nothing.
 */
export function readSqliteSigmaStore(path: string): SigmaContents {
  if (!existsSync(path)) return { rules: [], matches: [], cursor: 0 };
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = (sql: string) => db.prepare<[], Record<string, unknown>>(sql).all();
    const rules = rows(`SELECT ${RULE_COLUMNS.join(", ")} FROM sigma_rules ORDER BY account_id, id`);
    const matches = rows(`SELECT ${MATCH_COLUMNS.join(", ")} FROM sigma_matches ORDER BY id`);
    const cursor = db.prepare<[], { value: number }>("SELECT value FROM sigma_state WHERE name = 'cursor'").get();
    return {
      rules: rules.map((row) => RULE_COLUMNS.map((column) => row[column])),
      matches: matches.map((row) => MATCH_COLUMNS.map((column) => row[column])),
      cursor: cursor?.value ?? 0,
    };
  } finally {
    db.close();
  }
}

/**
 * Brings an embedded Sigma store into the cluster's, in one transaction: the rules the cluster does
 * not hold (by account and id; the rule revision moves when one is added, so every node reloads),
 * the matches it does not hold (by id, or by account and match key) with their ids, the match id
 * sequence moved past the largest, and the cursor unless the cluster's is as far (it never goes
 * back, and keeps its fencing token). A re-run adds nothing. Resolves what it changed.
 */
export async function importPostgresSigma(
  db: PostgresDatabase,
  contents: SigmaContents,
): Promise<{ rules: number; matches: number; cursorMoved: boolean }> {
  await migrate(db, "sigma", SIGMA_MIGRATIONS);
  return db.transaction(async (tx) => {
    const rules = await insertRows(tx, "cairn_sigma_rules", RULE_COLUMNS, contents.rules);
    if (rules > 0) await tx.query("UPDATE cairn_sigma_state SET value = value + 1 WHERE name = 'revision'");
    const matches = await insertRows(tx, "cairn_sigma_matches", MATCH_COLUMNS, contents.matches);
    await tx.query(
      `SELECT setval(pg_get_serial_sequence('cairn_sigma_matches', 'id'),
         GREATEST((SELECT coalesce(max(id), 0) FROM cairn_sigma_matches), 1))`,
    );
    const moved = await tx.query(
      "UPDATE cairn_sigma_state SET value = $1 WHERE name = 'cursor' AND value < $1 RETURNING 1",
      [contents.cursor],
    );
    return { rules, matches, cursorMoved: moved.length === 1 };
  });
}
