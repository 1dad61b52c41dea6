/**
 * The DuckDB side of Lake queries: one in-process DuckDB instance (its own thread pool, so a query
 * never blocks Node's event loop), Trino macros, per-query connections with a temporary view per
 * event data store over its Parquet files, and the conversion of results to Lake's all-strings rows.
 * External access is limited to the lake directory so SQL cannot read other files.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance, DuckDBTypeId, type DuckDBConnection, type DuckDBType } from "@duckdb/node-api";
import { LAKE_COLUMNS } from "./lake-schema.js";
import { LAKE_MACROS } from "./query-macros.js";
import { sqlString } from "./parquet-writer.js";
import { tableFunctionsOf, ALLOWED_TABLE_FUNCTIONS, viewNameOf } from "./query-sql.js";

export interface QueryRows {
  readonly columns: string[];
  readonly rows: string[][];
}

/** A problem with the statement itself (the caller answers InvalidQueryStatementException). */
export class StatementError extends Error {
  override readonly name = "StatementError";
}

const EMPTY_TABLE = "cairn_empty_store";

export async function openDuck(lakeDir: string): Promise<DuckDBInstance> {
  const duck = await DuckDBInstance.create(":memory:", { autoinstall_known_extensions: "false" });
  const connection = await duck.connect();
  try {
    // Order matters: the allowed directory must be set while external access is still on.
    await connection.run(`SET allowed_directories = [${sqlString(`${lakeDir}/`)}]`);
    await connection.run("SET enable_external_access = false");
    for (const macro of LAKE_MACROS) await connection.run(`CREATE OR REPLACE MACRO ${macro}`);
    const columns = LAKE_COLUMNS.map(([name, type]) => `"${name}" ${type}`).join(", ");
    await connection.run(`CREATE TABLE ${EMPTY_TABLE} (${columns}, eventdate VARCHAR)`);
  } finally {
    connection.closeSync();
  }
  return duck;
}

function hasParquet(directory: string): boolean {
  try {
    return readdirSync(directory, { recursive: true }).some((name) => String(name).endsWith(".parquet"));
  } catch {
    return false;
  }
}

/** Parses with DuckDB and refuses everything but one SELECT that reads only its stores. */
export async function checkStatement(connection: DuckDBConnection, sql: string): Promise<void> {
  const reader = await connection.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [sql]);
  const tree = JSON.parse(String(reader.getRows()[0]![0])) as {
    error?: boolean;
    error_message?: string;
    statements?: unknown[];
  };
  if (tree.error === true) throw new StatementError(tree.error_message ?? "The statement does not parse.");
  if ((tree.statements ?? []).length !== 1) throw new StatementError("Send exactly one SELECT statement.");
  const refused = tableFunctionsOf(tree.statements).filter((name) => !ALLOWED_TABLE_FUNCTIONS.has(name.toLowerCase()));
  if (refused.length > 0) throw new StatementError(`Function ${refused[0]} is not allowed in Lake queries.`);
}

/** Opens a connection with one view per store; the caller closes it (or interrupts it to cancel). */
export async function connectForQuery(
  duck: DuckDBInstance,
  lakeDir: string,
  storeIds: readonly string[],
): Promise<DuckDBConnection> {
  const connection = await duck.connect();
  for (const id of storeIds) {
    const dir = join(lakeDir, id);
    const source = hasParquet(dir)
      ? `read_parquet(${sqlString(`${dir}/**/*.parquet`)}, hive_partitioning = true, union_by_name = true)`
      : EMPTY_TABLE;
    await connection.run(`CREATE OR REPLACE TEMP VIEW "${viewNameOf(id)}" AS SELECT * FROM ${source}`);
  }
  return connection;
}

export async function runQuery(connection: DuckDBConnection, sql: string): Promise<QueryRows> {
  const reader = await connection.runAndReadAll(sql);
  const types = reader.columnTypes();
  const rows = reader.getRowsJson().map((row) => row.map((value, i) => formatValue(value, types[i]!)));
  return { columns: reader.columnNames(), rows };
}

/** Lake's text form: Trino's (`{k=v}` maps and rows, `[a, b]` arrays, timestamps with milliseconds). */
function formatValue(value: unknown, type: DuckDBType | undefined): string {
  if (value === null || value === undefined) return "";
  const id = type?.typeId;
  if (typeof value === "string") {
    if (id === DuckDBTypeId.TIMESTAMP || id === DuckDBTypeId.TIMESTAMP_TZ) return timestampText(value);
    return value;
  }
  if (typeof value !== "object") return String(value);
  if (id === DuckDBTypeId.MAP && Array.isArray(value)) {
    const entries = value as Array<{ key: unknown; value: unknown }>;
    return `{${entries.map((e) => `${formatValue(e.key, undefined)}=${formatValue(e.value, undefined)}`).join(", ")}}`;
  }
  if (Array.isArray(value)) return `[${value.map((v) => formatValue(v, undefined)).join(", ")}]`;
  const members = Object.entries(value as Record<string, unknown>);
  return `{${members.map(([k, v]) => `${k}=${v === null ? "null" : formatValue(v, undefined)}`).join(", ")}}`;
}

function timestampText(text: string): string {
  const match = /^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$/.exec(text);
  if (!match) return text;
  return `${match[1]!.replace("T", " ")}.${(match[2] ?? "").padEnd(3, "0").slice(0, 3)}${match[3] === "+00" ? "" : match[3]}`;
}
