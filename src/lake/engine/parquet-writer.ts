/**
 * Writes rows of one event data store and one event date as a Parquet file (zstd) with DuckDB:
 * NDJSON temp file → DuckDB `COPY … TO` a temp Parquet file → fsync → rename into
 * `<lake>/<eds-id>/eventdate=YYYY-MM-DD/<name>.parquet` → fsync of the directory. A reader never
 * sees a half-written file, and the caller records the file in lake.db only after this resolves.
 */
import { randomBytes } from "node:crypto";
import { open, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { DuckDBInstance } from "@duckdb/node-api";
import { makeDirectoryDurable } from "../../lib/durable-file.js";
import { moveFileDurable } from "../../lib/durable-write.js";
import { PRIVATE_FILE_MODE } from "../../lib/file-modes.js";
import { readJsonColumnsArgument } from "./lake-schema.js";

export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

export interface ParquetTarget {
  readonly lakeDir: string;
  readonly edsId: string;
  readonly eventDate: string;
  /** File name without extension, unique per writer (live: seq range; import: import id + chunk). */
  readonly name: string;
}

export function partitionDir(lakeDir: string, edsId: string, eventDate: string): string {
  return join(lakeDir, edsId, `eventdate=${eventDate}`);
}

/** Writes the rows and returns the final path. Rows are JSON objects shaped by recordToRow. */
export async function writeParquet(
  duck: DuckDBInstance,
  target: ParquetTarget,
  rows: readonly Record<string, unknown>[],
): Promise<string> {
  const tmpDir = join(target.lakeDir, "tmp");
  await makeDirectoryDurable(tmpDir);
  const stem = join(tmpDir, `${process.pid}-${randomBytes(8).toString("hex")}`);
  const jsonPath = `${stem}.ndjson`;
  const parquetPath = `${stem}.parquet`;
  const finalPath = join(partitionDir(target.lakeDir, target.edsId, target.eventDate), `${target.name}.parquet`);
  try {
    await writeFile(jsonPath, rows.map((row) => JSON.stringify(row)).join("\n") + "\n", { mode: PRIVATE_FILE_MODE });
    const connection = await duck.connect();
    try {
      await connection.run(
        `COPY (SELECT * FROM read_json(${sqlString(jsonPath)}, format = 'newline_delimited', ` +
          `columns = ${readJsonColumnsArgument()}, maximum_object_size = 67108864)) ` +
          `TO ${sqlString(parquetPath)} (FORMAT parquet, COMPRESSION zstd)`,
      );
    } finally {
      connection.closeSync();
    }
    await moveFileDurable(parquetPath, finalPath, { createDirectories: true });
    return finalPath;
  } finally {
    await rm(jsonPath, { force: true });
    await rm(parquetPath, { force: true });
  }
}

/**
 * Resolves when DuckDB can write a Parquet file in the Lake's temp directory now (a one-row file,
 * fsynced and removed); a writer's probe, to tell a row DuckDB refuses from a disk or engine that fails.
 */
export async function checkParquetWritable(duck: DuckDBInstance, lakeDir: string): Promise<void> {
  const tmpDir = join(lakeDir, "tmp");
  await makeDirectoryDurable(tmpDir);
  const path = join(tmpDir, `${process.pid}-probe-${randomBytes(8).toString("hex")}.parquet`);
  try {
    const connection = await duck.connect();
    try {
      await connection.run(`COPY (SELECT 1 AS probe) TO ${sqlString(path)} (FORMAT parquet)`);
    } finally {
      connection.closeSync();
    }
    const handle = await open(path, "r+");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } finally {
    await rm(path, { force: true });
  }
}
