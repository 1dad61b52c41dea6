/**
 * Writes one import chunk (up to ~200,000 rows over any number of event dates) as Parquet: the NDJSON
 * lines of import-rows.ts rowLine (each ending in a newline) go to one temp file per event date,
 * DuckDB reads each, builds every Lake column (LAKE_COLUMNS order and types) and writes one file;
 * each file is then fsynced and renamed into `<lake>/<eds-id>/eventdate=YYYY-MM-DD/<name>.parquet`,
 * as parquet-writer.ts does for one date. The caller records the files in lake.db only after this
 * resolves, so a crash leaves no counted half-file (unrecorded files are deleted at start).
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { DuckDBInstance } from "@duckdb/node-api";
import { makeDirectoryDurable, syncDirectory } from "../../../lib/durable-file.js";
import { PRIVATE_FILE_MODE } from "../../../lib/file-modes.js";
import { LAKE_COLUMNS } from "../../../lake/engine/lake-schema.js";
import { PROVENANCE_MEMBERS, type IngestProvenance } from "../../../model/provenance.js";
import { partitionDir, sqlString } from "../../../lake/engine/parquet-writer.js";
import { STRUCT_LINE_FIELDS } from "./import-rows.js";

const STRING_MAP = "MAP(VARCHAR, VARCHAR)";
const STRUCT_SHORT: ReadonlyMap<string, string> = new Map(STRUCT_LINE_FIELDS.map(([short, field]) => [field, short]));

/** The statement's parts, built once from LAKE_COLUMNS so the schema has one definition. */
function statementParts(): { readColumns: string; transform: string; select: (ingestedBy: string) => string } {
  const typeOf = new Map(LAKE_COLUMNS);
  const readColumns = [
    ["j", "VARCHAR"] as const,
    ["c", "VARCHAR"] as const,
    ...STRUCT_LINE_FIELDS.map(([s, f]) => [s, typeOf.get(f)!] as const),
  ]
    .map(([name, type]) => `'${name}': '${type}'`)
    .join(", ");
  const flat = LAKE_COLUMNS.filter(
    ([name]) => !STRUCT_SHORT.has(name) && !name.startsWith("eventJson") && name !== "cairnIngestedBy",
  );
  const transform = JSON.stringify(
    Object.fromEntries(flat.map(([name, type]) => [name, name === "eventTime" ? "VARCHAR" : type])),
  );
  // null: cairnIngestedBy, one value for the whole import (who started it), a literal per statement.
  const columns = LAKE_COLUMNS.map(([name, type]) => {
    let expression: string;
    const short = STRUCT_SHORT.get(name);
    if (name === "cairnIngestedBy") return null;
    if (short !== undefined) expression = `s.${short}`;
    else if (name === "eventJson") expression = "s.j";
    else if (name === "eventJsonChecksum") expression = "s.c";
    // toTimestampText: "2023-01-02T03:04:05Z" → "2023-01-02 03:04:05".
    else if (name === "eventTime") expression = `replace(regexp_replace(s.f.eventTime, 'Z$', ''), 'T', ' ')`;
    // stringMap drops members whose value is null.
    else if (type === STRING_MAP)
      expression = `map_from_entries(list_filter(map_entries(s.f."${name}"), kv -> kv.value IS NOT NULL))`;
    else expression = `s.f."${name}"`;
    return `CAST(${expression} AS ${type}) AS "${name}"`;
  });
  const ingestedByType = typeOf.get("cairnIngestedBy")!;
  const select = (ingestedBy: string): string =>
    columns.map((column) => column ?? `CAST(${ingestedBy} AS ${ingestedByType}) AS "cairnIngestedBy"`).join(",\n  ");
  return { readColumns, transform, select };
}

/** cairnIngestedBy as a DuckDB struct literal (members as recordToRow names them), or NULL. */
function ingestedByLiteral(provenance: IngestProvenance | undefined): string {
  if (provenance === undefined) return "NULL";
  const members = PROVENANCE_MEMBERS.map((member) => {
    const value = provenance[member];
    return `${sqlString(member.toLowerCase())}: ${value === undefined ? "NULL" : sqlString(value)}`;
  });
  return `{${members.join(", ")}}`;
}

let parts: ReturnType<typeof statementParts> | undefined;

export interface BulkTarget {
  readonly lakeDir: string;
  readonly edsId: string;
  /** File name stem, unique per import chunk (`import-<id>-<run>-<chunk>`). */
  readonly name: string;
  /** Who started the import: every row's cairnIngestedBy (NULL when undefined). */
  readonly ingestedBy?: IngestProvenance | undefined;
}

/** Statements of one chunk run at once (each on its own connection): one date's file is small. */
const PARALLEL_DATES = 2;

/** The chunk's line numbers for each event date, dates in order. */
function linesByDate(dates: readonly string[]): Array<[string, number[]]> {
  const byDate = new Map<string, number[]>();
  dates.forEach((date, i) => {
    const slot = byDate.get(date);
    if (slot) slot.push(i);
    else byDate.set(date, [i]);
  });
  return [...byDate].sort(([a], [b]) => (a < b ? -1 : 1));
}

/**
 * Writes the lines as Parquet, one file per event date, each from its own NDJSON temp file with its
 * own COPY, two dates at a time: about the CPU per row of `PARTITION_BY` (decision 0022), less wall
 * time, and exactly one file per date.
 * Returns the final path and event date of each file.
 */
export async function writeImportChunk(
  duck: DuckDBInstance,
  target: BulkTarget,
  lines: readonly Buffer[],
  dates: readonly string[],
): Promise<Array<{ path: string; eventDate: string }>> {
  const tmpDir = join(target.lakeDir, "tmp");
  await makeDirectoryDurable(tmpDir);
  const stem = join(tmpDir, `${process.pid}-import-${randomBytes(8).toString("hex")}`);
  const groups = linesByDate(dates);
  const written: Array<{ path: string; eventDate: string }> = [];
  const temps: string[] = [];
  try {
    const parquet = new Map<string, string>();
    let next = 0;
    const worker = async (): Promise<void> => {
      const connection = await duck.connect();
      try {
        while (next < groups.length) {
          const [date, numbers] = groups[next++]!;
          const jsonPath = `${stem}-${date}.ndjson`;
          const parquetPath = `${stem}-${date}.parquet`;
          temps.push(jsonPath, parquetPath);
          await writeFile(jsonPath, Buffer.concat(numbers.map((i) => lines[i]!)), { mode: PRIVATE_FILE_MODE });
          await connection.run(copyStatement(jsonPath, parquetPath, target.ingestedBy));
          await rm(jsonPath, { force: true });
          parquet.set(date, parquetPath);
        }
      } finally {
        connection.closeSync();
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_DATES, groups.length) }, worker));
    for (const [eventDate] of groups) {
      const from = parquet.get(eventDate)!;
      const handle = await open(from, "r+");
      try {
        // DuckDB chose the file's mode under the umask; the store's files are private (0600).
        await handle.chmod(PRIVATE_FILE_MODE);
        await handle.sync();
      } finally {
        await handle.close();
      }
      const finalDir = partitionDir(target.lakeDir, target.edsId, eventDate);
      await makeDirectoryDurable(finalDir);
      const finalPath = join(finalDir, `${target.name}.parquet`);
      // Not moveFileDurable: the same fsyncs, but named here so a failure removes what was renamed.
      await rename(from, finalPath);
      written.push({ path: finalPath, eventDate });
      await syncDirectory(finalDir);
    }
    return written;
  } catch (error) {
    // Nothing of a failed chunk may stay in the store: it is not recorded, and a retry renames anew.
    await Promise.all(written.map((file) => rm(file.path, { force: true })));
    throw error;
  } finally {
    await Promise.all(temps.map((path) => rm(path, { force: true })));
  }
}

/** One event date's NDJSON lines to one Parquet file, every Lake column in LAKE_COLUMNS order. */
function copyStatement(jsonPath: string, parquetPath: string, ingestedBy: IngestProvenance | undefined): string {
  parts ??= statementParts();
  return (
    `COPY (SELECT\n  ${parts.select(ingestedByLiteral(ingestedBy))}\n` +
    `FROM (SELECT *, json_transform(j, ${sqlString(parts.transform)}) AS f FROM read_json(${sqlString(jsonPath)}, ` +
    `format = 'newline_delimited', columns = {${parts.readColumns}}, maximum_object_size = 67108864)) AS s) ` +
    `TO ${sqlString(parquetPath)} (FORMAT parquet, COMPRESSION zstd)`
  );
}
