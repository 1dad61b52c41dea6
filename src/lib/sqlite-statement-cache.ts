import type Database from "better-sqlite3";

/**
 * Makes `db.prepare` hand back one statement per SQL text, prepared on first use: a store that
 * prepares its statements in each call spent as long preparing as running them on a hot path
 * (bench/detection.ts, the rule delivery queue). Safe for statements used with run/get/all, which
 * finish before the next use; a caller that iterates (`iterate()`) must prepare its own.
 */
export function preparedOnce(db: Database.Database): Database.Database {
  const prepare = db.prepare.bind(db);
  const statements = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let statement = statements.get(sql);
    if (statement === undefined) statements.set(sql, (statement = prepare(sql)));
    return statement;
  }) as Database.Database["prepare"];
  return db;
}
