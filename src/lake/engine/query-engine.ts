/**
 * The DuckDB side of Lake queries: one in-process DuckDB instance (its own thread pool, so a query
 * never blocks Node's event loop), Trino macros, per-query connections with a temporary view per
 * event data store over the Parquet files of the partitions the statement can match
 * (query-pruning.ts), the scan statistics of those files, and the conversion of results to Lake's
 * all-strings rows. External access is limited to the lake directory so SQL cannot read other files.
 */
import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  DuckDBInstance,
  DuckDBListType,
  DuckDBArrayType,
  DuckDBMapType,
  DuckDBStructType,
  DuckDBTypeId,
  type DuckDBConnection,
  type DuckDBType,
} from "@duckdb/node-api";
import type { FileSnapshot } from "../compaction/compaction.js";
import { LAKE_COLUMNS } from "./lake-schema.js";
import { LAKE_MACROS } from "./query-macros.js";
import { sqlString } from "./parquet-writer.js";
import { partitionInRange, type DateRange } from "./query-pruning.js";
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
    // Lake is UTC: TIMESTAMP WITH TIME ZONE values (from_iso8601_timestamp) compare and print in UTC.
    await connection.run("SET GLOBAL TimeZone = 'UTC'");
    for (const macro of LAKE_MACROS) await connection.run(`CREATE OR REPLACE MACRO ${macro}`);
    const columns = LAKE_COLUMNS.map(([name, type]) => `"${name}" ${type}`).join(", ");
    await connection.run(`CREATE TABLE ${EMPTY_TABLE} (${columns}, eventdate VARCHAR)`);
  } finally {
    connection.closeSync();
  }
  return duck;
}

/**
 * Parses with DuckDB and refuses everything but one SELECT that reads only its stores; returns the
 * parsed statements (`json_serialize_sql`) for partition pruning.
 */
export async function checkStatement(connection: DuckDBConnection, sql: string): Promise<unknown[]> {
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
  return tree.statements ?? [];
}

/** What a query reads: the Parquet files of the partitions it can match (QueryStatistics). */
export interface ScanStatistics {
  readonly files: number;
  /** Sum of the sizes of the files read (compressed Parquet, as AWS counts the bytes it scans). */
  readonly bytesScanned: number;
  /** Rows in the files read. */
  readonly eventsScanned: number;
}

interface FileFacts {
  readonly size: number;
  readonly rows: number;
  /** The file's Parquet schema (names, types, nesting) as one string: equal strings read alike. */
  readonly schema: string;
  /** Its top-level column names. */
  readonly columns: ReadonlySet<string>;
}

/** Committed Parquet files never change (new data gets new names): their footers' facts are cached. */
const fileFacts = new Map<string, FileFacts>();
const FILE_FACTS_LIMIT = 200_000;

/** The Parquet files of a store's partitions in `range`, in path order. */
async function partitionFiles(storeDir: string, range: DateRange | undefined): Promise<string[]> {
  let partitions: string[];
  try {
    partitions = (await readdir(storeDir)).filter(
      (name) => name.startsWith("eventdate=") && partitionInRange(name.slice("eventdate=".length), range),
    );
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const partition of partitions.sort()) {
    const dir = join(storeDir, partition);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.sort()) if (name.endsWith(".parquet")) files.push(join(dir, name));
  }
  return files;
}

/** The files of a snapshot (committed files, from lake.db) in `range`, in path order. */
function snapshotFiles(paths: readonly string[], range: DateRange | undefined): string[] {
  return paths
    .filter((path) => {
      const partition = basename(dirname(path));
      return partition.startsWith("eventdate=") && partitionInRange(partition.slice("eventdate=".length), range);
    })
    .sort();
}

async function factsOf(connection: DuckDBConnection, files: readonly string[]): Promise<FileFacts[]> {
  const sizes = await Promise.all(files.map((file) => stat(file).then((s) => s.size)));
  const unknown = files.filter((file, i) => fileFacts.get(file)?.size !== sizes[i]);
  if (unknown.length > 0) {
    const list = `[${unknown.map(sqlString).join(", ")}]`;
    const metadata = await connection.runAndReadAll(`SELECT file_name, num_rows FROM parquet_file_metadata(${list})`);
    const elements = await connection.runAndReadAll(
      `SELECT file_name, name, type, logical_type, num_children FROM parquet_schema(${list})`,
    );
    if (fileFacts.size + unknown.length > FILE_FACTS_LIMIT) fileFacts.clear();
    const rows = new Map(metadata.getRowsJson().map((row) => [String(row[0]), Number(row[1])]));
    const schemas = schemasOf(elements.getRowsJson());
    for (const file of unknown)
      fileFacts.set(file, {
        size: sizes[files.indexOf(file)]!,
        rows: rows.get(file) ?? 0,
        schema: schemas.get(file)?.text ?? "",
        columns: schemas.get(file)?.columns ?? new Set(),
      });
  }
  return files.map((file) => fileFacts.get(file)!);
}

/**
 * Per file, from parquet_schema's rows (each file's elements in schema order, depth first): the
 * schema as one string, and the top-level column names (the root's children, each followed by its
 * own subtree of `num_children` elements).
 */
function schemasOf(elements: readonly unknown[][]): Map<string, { text: string; columns: Set<string> }> {
  const byFile = new Map<string, unknown[][]>();
  for (const element of elements) {
    const file = String(element[0]);
    const list = byFile.get(file);
    if (list === undefined) byFile.set(file, [element]);
    else list.push(element);
  }
  const out = new Map<string, { text: string; columns: Set<string> }>();
  for (const [file, list] of byFile) {
    const text = list.map((e) => [e[1], e[2], e[3], e[4]].filter((part) => part !== null).join(":")).join(",");
    const columns = new Set<string>();
    // Elements of the current top-level column's subtree still to pass over.
    let skip = 0;
    for (const element of list.slice(1)) {
      if (skip > 0) {
        skip += Number(element[4] ?? 0) - 1;
        continue;
      }
      columns.add(String(element[1]));
      skip = Number(element[4] ?? 0);
    }
    out.set(file, { text, columns });
  }
  return out;
}

/**
 * Columns of the Lake schema that none of the files has (all written before the column was added):
 * NULL of the column's type, so that a query naming it reads NULL as it would with one newer file.
 */
function absentColumns(facts: readonly FileFacts[]): string {
  return LAKE_COLUMNS.filter(([name]) => !facts.some((fact) => fact.columns.has(name)))
    .map(([name, type]) => `, CAST(NULL AS ${type}) AS "${name}"`)
    .join("");
}

/** The statements that create a query's views, and what they read. */
export interface ViewPlan {
  readonly statements: readonly string[];
  readonly scan: ScanStatistics;
}

/**
 * The view per store over the files of the partitions in its range (all of them when the range is
 * undefined), as statements to run on a query's connection; `connection` reads the footers of files
 * not seen before. With a snapshot (the server's case) the files are the committed ones lake.db
 * listed when the query started, which compaction does not delete until the snapshot is released;
 * without one (tools, benchmarks) they are whatever the partition directories hold.
 */
export async function planViews(
  connection: DuckDBConnection,
  lakeDir: string,
  storeIds: readonly string[],
  ranges: ReadonlyMap<string, DateRange | undefined> = new Map(),
  snapshot?: FileSnapshot,
): Promise<ViewPlan> {
  let files = 0;
  let bytesScanned = 0;
  let eventsScanned = 0;
  const statements: string[] = [];
  for (const id of storeIds) {
    const view = viewNameOf(id);
    const paths =
      snapshot !== undefined
        ? snapshotFiles(snapshot.filesOf(id), ranges.get(view))
        : await partitionFiles(join(lakeDir, id), ranges.get(view));
    // Only the files left after pruning are fetched (cluster mode), and kept until the snapshot ends.
    await snapshot?.ensureLocal(paths);
    const facts = await factsOf(connection, paths);
    for (const fact of facts) {
      bytesScanned += fact.size;
      eventsScanned += fact.rows;
    }
    files += paths.length;
    // union_by_name makes DuckDB read every footer at bind time; it is only needed when the files'
    // schemas differ (files written before a column was added).
    const union = facts.some((fact) => fact.schema !== facts[0]!.schema) ? ", union_by_name = true" : "";
    const source =
      paths.length > 0
        ? `read_parquet([${paths.map(sqlString).join(", ")}], hive_partitioning = true${union})`
        : EMPTY_TABLE;
    const absent = paths.length > 0 ? absentColumns(facts) : "";
    statements.push(`CREATE OR REPLACE TEMP VIEW "${view}" AS SELECT *${absent} FROM ${source}`);
  }
  return { statements, scan: { files, bytesScanned, eventsScanned } };
}

/**
 * Opens a connection with the views of `planViews`; the caller closes it (or interrupts it to
 * cancel).
 */
export async function connectForQuery(
  duck: DuckDBInstance,
  lakeDir: string,
  storeIds: readonly string[],
  ranges: ReadonlyMap<string, DateRange | undefined> = new Map(),
  snapshot?: FileSnapshot,
): Promise<{ connection: DuckDBConnection; scan: ScanStatistics }> {
  const connection = await duck.connect();
  try {
    const { statements, scan } = await planViews(connection, lakeDir, storeIds, ranges, snapshot);
    for (const statement of statements) await connection.run(statement);
    return { connection, scan };
  } catch (error) {
    connection.closeSync();
    throw error;
  }
}

export async function runQuery(connection: DuckDBConnection, sql: string): Promise<QueryRows> {
  const reader = await connection.runAndReadAll(sql);
  const types = reader.columnTypes();
  const rows = reader.getRowsJson().map((row) => row.map((value, i) => cellText(value, types[i]!)));
  return { columns: reader.columnNames(), rows };
}

/**
 * Lake's text form of a result cell (spec §7.2: every value a string): Trino's rendering as Lake
 * prints it — numbers in decimal (doubles as Java prints them: `2.0`, `1.0E20`), booleans `true`/
 * `false`, timestamps `YYYY-MM-DD HH:MM:SS.mmm` (UTC), maps and rows `{k=v, …}`, arrays `[a, b]`,
 * NULL inside them `null`. A top-level NULL is the empty string: the model's `map<string,string>`
 * (not sparse) cannot carry a JSON null, and the spec gives no other form.
 */
function cellText(value: unknown, type: DuckDBType): string {
  if (value === null || value === undefined) return "";
  return valueText(value, type);
}

function valueText(value: unknown, type: DuckDBType | undefined): string {
  if (value === null || value === undefined) return "null";
  if (type instanceof DuckDBMapType && Array.isArray(value)) {
    const entries = value as Array<{ key: unknown; value: unknown }>;
    return `{${entries.map((e) => `${valueText(e.key, type.keyType)}=${valueText(e.value, type.valueType)}`).join(", ")}}`;
  }
  if ((type instanceof DuckDBListType || type instanceof DuckDBArrayType) && Array.isArray(value))
    return `[${value.map((v) => valueText(v, type.valueType)).join(", ")}]`;
  if (type instanceof DuckDBStructType && typeof value === "object") {
    const record = value as Record<string, unknown>;
    return `{${type.entryNames.map((name, i) => `${name}=${valueText(record[name], type.entryTypes[i])}`).join(", ")}}`;
  }
  const id = type?.typeId;
  if (typeof value === "string") {
    if (id === DuckDBTypeId.TIMESTAMP || id === DuckDBTypeId.TIMESTAMP_TZ) return timestampText(value);
    return value;
  }
  if (typeof value === "number" && (id === DuckDBTypeId.DOUBLE || id === DuckDBTypeId.FLOAT)) return javaDouble(value);
  if (id === DuckDBTypeId.INTERVAL && typeof value === "object") return intervalText(value as IntervalJson);
  if (typeof value !== "object") return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => valueText(v, undefined)).join(", ")}]`;
  const members = Object.entries(value as Record<string, unknown>);
  return `{${members.map(([k, v]) => `${k}=${valueText(v, undefined)}`).join(", ")}}`;
}

/** Java's Double.toString, which Trino's client values go through: `2.0`, `0.001`, `1.0E7`, `1.0E-4`. */
function javaDouble(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    const text = String(value);
    return text.includes(".") ? text : `${text}.0`;
  }
  const [mantissa = "", exponent = "0"] = value.toExponential().split("e");
  return `${mantissa.includes(".") ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

interface IntervalJson {
  readonly months: number;
  readonly days: number;
  readonly micros: string | number;
}

/** Trino's interval forms: `Y-M` (year to month) or `D HH:MM:SS.mmm` (day to second). */
function intervalText(interval: IntervalJson): string {
  if (interval.months !== 0 && interval.days === 0 && Number(interval.micros) === 0)
    return `${Math.trunc(interval.months / 12)}-${Math.abs(interval.months % 12)}`;
  const totalMs = interval.days * 86_400_000 + Math.trunc(Number(interval.micros) / 1000);
  const sign = totalMs < 0 ? "-" : "";
  let rest = Math.abs(totalMs);
  const days = Math.floor(rest / 86_400_000);
  rest -= days * 86_400_000;
  const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
  const h = Math.floor(rest / 3_600_000);
  const m = Math.floor((rest % 3_600_000) / 60_000);
  const sec = Math.floor((rest % 60_000) / 1000);
  return `${sign}${days} ${pad(h)}:${pad(m)}:${pad(sec)}.${pad(rest % 1000, 3)}`;
}

function timestampText(text: string): string {
  const match = /^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$/.exec(text);
  if (!match) return text;
  return `${match[1]!.replace("T", " ")}.${(match[2] ?? "").padEnd(3, "0").slice(0, 3)}${match[3] === "+00" ? "" : match[3]}`;
}
