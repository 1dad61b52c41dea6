import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { insertRows, migrate, type PostgresDatabase } from "../postgres/index.js";
import { INSIGHTS_MIGRATIONS } from "./postgres-insight-series-store.js";

/** The tables of the Insights series, embedded name → cluster name, with their columns. */
const TABLES = [
  { from: "insight_points", to: "cairn_insight_points", columns: ["series", "period", "time_ms", "count"] },
  {
    from: "insight_attributions",
    to: "cairn_insight_attributions",
    columns: ["series", "minute_ms", "attribute", "value", "count"],
  },
  {
    from: "insight_series",
    to: "cairn_insight_series",
    columns: [
      ...["series", "account_id", "region", "key_json", "judged", "judged_through_ms", "last_data_ms"],
      "anomaly_json",
    ],
  },
  {
    from: "insight_regions",
    to: "cairn_insight_regions",
    columns: ["account_id", "region", "newest_event_ms", "oldest_event_ms", "last_arrival_ms"],
  },
] as const;

type TableName = (typeof TABLES)[number]["from"];

/** Every row of an embedded Insights store as stored, per table (columns in TABLES order), and its cursor. */
export interface InsightsContents {
  readonly tables: Readonly<Record<TableName, readonly (readonly unknown[])[]>>;
  readonly cursor: number;
}

/**
 * Reads `<data-dir>/insights.db` whole, read-only, for `cairn migrate --to-cluster`: the per-minute
 * and per-hour counts, their attributions, each series' detector state (judged, judged through,
 * last data, the open anomaly), each region's activity, and the consumer's cursor. A missing file
 * holds nothing.
 */
export function readSqliteInsights(path: string): InsightsContents {
  const empty = Object.fromEntries(TABLES.map((table) => [table.from, []])) as unknown as InsightsContents["tables"];
  if (!existsSync(path)) return { tables: empty, cursor: 0 };
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const tables = Object.fromEntries(
      TABLES.map(({ from, columns }) => [
        from,
        db
          .prepare<[], Record<string, unknown>>(`SELECT ${columns.join(", ")} FROM ${from} ORDER BY ${columns[0]}`)
          .all()
          // SQLite keeps booleans as 0/1.
          .map((row) => columns.map((column) => (column === "judged" ? row[column] === 1 : row[column]))),
      ]),
    ) as unknown as InsightsContents["tables"];
    const cursor = db.prepare<[], { seq: number }>("SELECT seq FROM insight_cursor WHERE id = 1").get();
    return { tables, cursor: cursor?.seq ?? 0 };
  } finally {
    db.close();
  }
}

/**
 * Brings an embedded Insights store into the cluster's, whole or not at all, in one transaction: its
 * counts and detector state hold what the journal up to its cursor contributed, so they are copied
 * only while the cluster's cursor is behind it and the cluster holds no series (a node that counted
 * the copied journal itself has counts of its own, which added ones would double). The cursor
 * becomes the copied one, its fencing token kept. Resolves the rows copied per table, or undefined
 * when the cluster's own state was kept.
 */
export async function importPostgresInsights(
  db: PostgresDatabase,
  contents: InsightsContents,
): Promise<Record<TableName, number> | undefined> {
  await migrate(db, "insights", INSIGHTS_MIGRATIONS);
  return db.transaction(async (tx) => {
    // Locks the cursor: a node's Insights consumer commits through it, so none counts meanwhile.
    const [cursor] = await tx.query<{ seq: string }>("SELECT seq FROM cairn_insight_cursor WHERE id = 1 FOR UPDATE");
    const [held] = await tx.query<{ n: string }>("SELECT count(*) AS n FROM cairn_insight_series");
    if (Number(cursor?.seq ?? 0) >= contents.cursor || Number(held?.n ?? 0) > 0) return undefined;
    const added = {} as Record<TableName, number>;
    for (const { from, to, columns } of TABLES) added[from] = await insertRows(tx, to, columns, contents.tables[from]);
    await tx.query("UPDATE cairn_insight_cursor SET seq = $1 WHERE id = 1", [contents.cursor]);
    return added;
  });
}
