/**
 * The background part of an import: list the source's trail files, parse and normalise them on
 * worker threads (import/import-worker.ts, the ingest rules), de-duplicate in file order against the
 * store and the import itself, and write Parquet in chunks of ~200,000 rows, one DuckDB statement per
 * event date of the chunk (import/bulk-writer.ts). A chunk's files and keys are recorded in
 * the catalog in one transaction after they are durable; while one chunk is written the next is read.
 * The catalog is asked about a whole file's keys at once, never once per record.
 */
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import type { DuckDBInstance } from "@duckdb/node-api";
import { checkParquetWritable } from "../../../lake/engine/parquet-writer.js";
import { errorTextWithoutPaths } from "../../../lib/error-text.js";
import type { IngestProvenance } from "../../../model/provenance.js";
import { writeIsolatingRefusals } from "../../../lib/isolate-refusals.js";
import type { ObjectStore } from "../../../stores/objects/index.js";
import { writeImportChunk } from "./bulk-writer.js";
import type { FileRequest, FileResult } from "./import-rows.js";
import {
  failureCode,
  listImportFiles,
  readImportObject,
  type ImportFile,
  type ImportLocation,
} from "./import-source.js";
import { ImportWorkerPool } from "./worker-pool.js";
import type { CommittedFile, ImportFailure, LakeCatalog } from "../../../lake/catalog/index.js";

/**
 * Rows per chunk: each chunk writes a file per event date, so larger chunks mean fewer, larger files
 * (fewer for the compactor to merge while the import runs); ~1.8 KB of NDJSON per row in memory.
 */
const CHUNK_ROWS = 200_000;
/** Files read ahead of the one being de-duplicated, per worker. */
const READ_AHEAD_PER_WORKER = 6;
/**
 * GetImport's statistics are saved at most this often while files complete (and at every commit).
 * Each save is a catalog commit with its fsync on the main thread: at 200 ms, 4% of it.
 */
const SAVE_INTERVAL_MS = 1000;

export interface ImportDocument {
  readonly id: string;
  readonly accountId: string;
  readonly edsId: string;
  readonly destinationArn: string;
  readonly sourceUri: string;
  /** The resolved directory of a file:// import ("" for s3://); never shown to the caller. */
  readonly directory: string;
  /** Absent in documents written before s3:// imports: then `directory` is the source. */
  readonly location?: ImportLocation;
  readonly region: string;
  readonly roleArn: string;
  readonly startEventTimeMs?: number;
  readonly endEventTimeMs?: number;
  /** Who started the import, for the rows' cairnIngestedBy; absent in documents written before it. */
  readonly ingestedBy?: IngestProvenance;
  status: "INITIALIZING" | "IN_PROGRESS" | "FAILED" | "STOPPED" | "COMPLETED";
  /**
   * Events this import's runs committed so far (never shown): a run again from the beginning skips
   * them as duplicates, so its EventsCompleted starts from here. Absent before the first commit.
   */
  committedEvents?: number;
  readonly createdMs: number;
  updatedMs: number;
  stats: {
    PrefixesFound: number;
    PrefixesCompleted: number;
    FilesCompleted: number;
    EventsCompleted: number;
    FailedEntries: number;
  };
}

interface RunnerDeps {
  readonly catalog: LakeCatalog;
  readonly duck: DuckDBInstance;
  readonly lakeDir: string;
  readonly nowMs: () => number;
  readonly save: (doc: ImportDocument) => Promise<void>;
  /** The object store s3:// sources are read from, as the import's account sees it. */
  readonly objectStore?: ObjectStore;
  /** Writes a chunk's Parquet files (bulk-writer.ts); tests give one that refuses a record. */
  readonly writeImportChunk?: typeof writeImportChunk;
}

interface Chunk {
  /** The NDJSON lines (each ending in a newline), views of the workers' buffers. */
  readonly lines: Buffer[];
  readonly dates: string[];
  readonly keys: Buffer[];
  /** Each line's `file#index`, where a record the Lake refuses is reported. */
  readonly locations: string[];
  readonly seen: Set<string>;
}

const newChunk = (): Chunk => ({ lines: [], dates: [], keys: [], locations: [], seen: new Set() });

type ParsedFile = Extract<FileResult, { ok: true }>;

/**
 * Adds to `chunk` the file's records that are new: not in the store (`stored`, the catalog's answer
 * for `keys`), the chunk, or the chunk being written (`inFlight`). Returns how many it added.
 */
function addNewRecords(
  chunk: Chunk,
  file: ImportFile,
  result: ParsedFile,
  keys: readonly Buffer[],
  stored: readonly boolean[],
  inFlight: ReadonlySet<string> | undefined,
): number {
  const bytes = Buffer.from(result.lines.buffer, result.lines.byteOffset, result.lines.byteLength);
  let added = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const hex = key.toString("hex");
    if (stored[i] || chunk.seen.has(hex) || inFlight?.has(hex)) continue;
    chunk.seen.add(hex);
    chunk.lines.push(bytes.subarray(result.offsets[i]!, result.offsets[i + 1]!));
    chunk.dates.push(result.dates.slice(10 * i, 10 * i + 10));
    chunk.keys.push(key);
    chunk.locations.push(`${file.location}#${result.indexes[i]!}`);
    added++;
  }
  return added;
}

/** A file's 16-byte record keys, as views of the worker's buffer. */
function keysOf(result: ParsedFile): Buffer[] {
  const all = Buffer.from(result.keys.buffer, result.keys.byteOffset, result.keys.byteLength);
  return Array.from({ length: result.indexes.length }, (_, i) => all.subarray(i * 16, i * 16 + 16));
}

/** Reads one file on the pool: its resolved path (file://), or its body fetched here and handed over (s3://). */
function fileReader(
  doc: ImportDocument,
  location: ImportLocation,
  workers: ImportWorkerPool,
  deps: RunnerDeps,
): (file: ImportFile, id: number) => Promise<FileResult> {
  return async (file, id) => {
    const base: FileRequest = {
      id,
      path: file.path ?? file.location,
      nowMs: deps.nowMs(),
      ...(doc.startEventTimeMs !== undefined ? { startMs: doc.startEventTimeMs } : {}),
      ...(doc.endEventTimeMs !== undefined ? { endMs: doc.endEventTimeMs } : {}),
    };
    if (location.kind === "file") return workers.run(base);
    let body: Buffer | undefined;
    try {
      body = await readImportObject(deps.objectStore!, location.bucket, file.key!);
    } catch (error) {
      return { id, ok: false, problem: "unreadable", message: `The object cannot be read (${failureCode(error)}).` };
    }
    if (body === undefined) return { id, ok: false, problem: "unreadable", message: "The object does not exist." };
    // A private copy: the worker takes the buffer over, and SDK bodies may share theirs.
    return workers.run({ ...base, bytes: new Uint8Array(body) });
  };
}

export async function runImport(doc: ImportDocument, deps: RunnerDeps): Promise<void> {
  const progress = new ImportProgress(doc, deps);
  const chunks = new ChunkPipeline(doc, deps, progress);
  let pool: ImportWorkerPool | undefined;
  try {
    await beginRun(doc, deps);
    const location: ImportLocation = doc.location ?? { kind: "file", directory: doc.directory };
    const files = await listImportFiles(location, deps.objectStore, doc.sourceUri);
    Object.assign(doc, { status: "IN_PROGRESS", updatedMs: deps.nowMs() });
    doc.stats.PrefixesFound = 1;
    await progress.save(true);
    pool = new ImportWorkerPool();
    const nextResult = readingAhead(files, fileReader(doc, location, pool, deps), READ_AHEAD_PER_WORKER * pool.size);
    for (const file of files) {
      await addFile(doc, deps, progress, chunks, file, await nextResult());
      await progress.recordFailures();
      doc.stats.FilesCompleted++;
      await chunks.writeIfFull();
      await progress.save(false);
    }
    await chunks.finish();
    await progress.recordFailures();
    doc.stats.PrefixesCompleted = 1;
    Object.assign(doc, { status: "COMPLETED", updatedMs: deps.nowMs() });
  } catch (error) {
    await chunks.settle();
    // The whole error goes to the operator's log; the caller learns its code, never a server path.
    process.stderr.write(
      `lake: import ${doc.id} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    progress.fail(
      doc.sourceUri,
      "ImportFailed",
      `The import stopped (${failureCode(error)}); the server log has the details.`,
    );
    await progress.recordFailures();
    Object.assign(doc, { status: "FAILED", updatedMs: deps.nowMs() });
  } finally {
    await pool?.close();
  }
  await deps.save(doc);
}

/**
 * Every run starts from the beginning (a StartImport retry, or the lease holder running again an
 * import a stopped node was running): it reads every file again, so it records every failure again
 * and the earlier runs' are forgotten, and ListImportFailures pages agree with FailedEntries. What
 * earlier runs committed is skipped as duplicates, yet stays counted in EventsCompleted.
 */
async function beginRun(doc: ImportDocument, deps: RunnerDeps): Promise<void> {
  await deps.catalog.clearImportFailures(doc.id);
  doc.stats = {
    PrefixesFound: 0,
    PrefixesCompleted: 0,
    FilesCompleted: 0,
    EventsCompleted: doc.committedEvents ?? 0,
    FailedEntries: 0,
  };
}

/** Reads the files in order, up to `depth` of them ahead of the one asked for; returns the next file's result. */
function readingAhead(
  files: readonly ImportFile[],
  request: (file: ImportFile, id: number) => Promise<FileResult>,
  depth: number,
): () => Promise<FileResult> {
  const ahead: Array<Promise<FileResult>> = [];
  let next = 0;
  const fill = (): void => {
    while (next < files.length && ahead.length < depth) {
      const promise = request(files[next]!, next++);
      promise.catch(() => undefined); // observed when its turn comes
      ahead.push(promise);
    }
  };
  fill();
  return async () => {
    const result = await ahead.shift()!;
    fill();
    return result;
  };
}

/** Adds a file's new records to the chunk being filled, and its problems to the failures. */
async function addFile(
  doc: ImportDocument,
  deps: RunnerDeps,
  progress: ImportProgress,
  chunks: ChunkPipeline,
  file: ImportFile,
  result: FileResult,
): Promise<void> {
  if (!result.ok) {
    progress.fail(file.location, result.problem, result.message);
    return;
  }
  const keys = keysOf(result);
  // The chunk in flight when the catalog is asked: if it commits meanwhile, its keys may be
  // missing from the answer, so they still count as seen.
  const writing = chunks.inFlight;
  const stored = await deps.catalog.hasKeys(doc.edsId, keys);
  doc.stats.EventsCompleted += addNewRecords(chunks.filling, file, result, keys, stored, writing);
  // Rejected records in the order of the file, as the single-threaded runner listed them.
  for (const f of result.failures) progress.fail(`${file.location}#${f.index}`, f.errorCode, f.message);
}

/** The import's document while it runs: failures recorded a file at a time, statistics saved now and then. */
class ImportProgress {
  // FailedEntries counts the failures once they are recorded.
  private readonly failures: ImportFailure[] = [];
  private lastSaveMs = 0;

  constructor(
    private readonly doc: ImportDocument,
    private readonly deps: RunnerDeps,
  ) {}

  fail(location: string, errorType: string, errorMessage: string): void {
    this.failures.push({
      Location: location,
      Status: "FAILED",
      ErrorType: errorType,
      ErrorMessage: errorMessage.slice(0, 1000),
      LastUpdatedTime: this.deps.nowMs() / 1000,
    });
  }

  async recordFailures(): Promise<void> {
    if (this.failures.length === 0) return;
    const batch = this.failures.splice(0);
    await this.deps.catalog.addImportFailures(this.doc.id, batch);
    this.doc.stats.FailedEntries += batch.length;
  }

  /** Saves the document; unless `force`, at most every SAVE_INTERVAL_MS. */
  async save(force: boolean): Promise<void> {
    const now = this.deps.nowMs();
    if (!force && now - this.lastSaveMs < SAVE_INTERVAL_MS) return;
    this.doc.updatedMs = now;
    this.lastSaveMs = now;
    await this.deps.save(this.doc);
  }
}

/** The chunk being filled, and the one before it being written meanwhile (one at a time, in order). */
class ChunkPipeline {
  filling = newChunk();
  /** The keys of the chunk being written: they count as seen until they are in the catalog. */
  inFlight: Set<string> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private chunkNo = 0;
  /**
   * This run's part of the file names: a run again of the import (same id) numbers its chunks from 0
   * again, and must never replace a file an earlier run committed.
   */
  private readonly run = randomBytes(4).toString("hex");

  constructor(
    private readonly doc: ImportDocument,
    private readonly deps: RunnerDeps,
    private readonly progress: ImportProgress,
  ) {}

  /** Once the chunk is full, starts writing it (after the one before) and starts a new one. */
  async writeIfFull(): Promise<void> {
    if (this.filling.lines.length < CHUNK_ROWS) return;
    await this.writing;
    const full = this.filling;
    this.filling = newChunk();
    this.inFlight = full.seen;
    this.writing = this.write(full).then(() => {
      if (this.inFlight === full.seen) this.inFlight = undefined;
    });
    this.writing.catch(() => undefined);
  }

  /** Writes the last chunk after the one being written. */
  async finish(): Promise<void> {
    await this.writing;
    await this.write(this.filling);
  }

  /** Waits for the chunk being written, whatever its outcome (the import has failed already). */
  async settle(): Promise<void> {
    await this.writing.catch(() => undefined);
  }

  /**
   * Writes a chunk's Parquet files and commits them to the catalog with their keys. Records DuckDB
   * refuses while it writes the others (writeIsolatingRefusals) are import failures (`unwritable`);
   * the chunk's other records are written in parts, one set of files per part.
   */
  private async write(chunk: Chunk): Promise<void> {
    if (chunk.lines.length === 0) return;
    const { doc, deps } = this;
    const name = `import-${doc.id}-${this.run}-${String(this.chunkNo++).padStart(6, "0")}`;
    const all = chunk.lines.map((_, i) => i);
    const parts: Array<{ lines: readonly number[]; written: Array<{ path: string; eventDate: string }> }> = [];
    const writePart = async (lines: readonly number[]): Promise<void> => {
      const partName = lines.length === all.length ? name : `${name}-${String(lines[0]).padStart(6, "0")}`;
      const target = { lakeDir: deps.lakeDir, edsId: doc.edsId, name: partName, ingestedBy: doc.ingestedBy };
      parts.push({
        lines,
        written: await (deps.writeImportChunk ?? writeImportChunk)(
          deps.duck,
          target,
          lines.map((i) => chunk.lines[i]!),
          lines.map((i) => chunk.dates[i]!),
        ),
      });
    };
    let files: CommittedFile[];
    try {
      const refused = await writeIsolatingRefusals(all, writePart, () => checkParquetWritable(deps.duck, deps.lakeDir));
      for (const { item, error } of refused)
        this.progress.fail(chunk.locations[item]!, "unwritable", errorTextWithoutPaths(error));
      doc.stats.EventsCompleted -= refused.length;
      files = parts.flatMap((part) => committedFiles(doc.edsId, name, chunk, part.lines, part.written));
    } catch (error) {
      // Nothing of a failed chunk may stay in the store: the parts written are not recorded.
      await Promise.all(parts.flatMap((part) => part.written).map((file) => rm(file.path, { force: true })));
      throw error;
    }
    await deps.catalog.commitFiles(files);
    doc.committedEvents = (doc.committedEvents ?? 0) + files.reduce((sum, file) => sum + file.rows, 0);
    await this.progress.save(true);
  }
}

/** The catalog entries of one written part: each event date's rows and keys go with its first file. */
function committedFiles(
  edsId: string,
  name: string,
  chunk: Chunk,
  lines: readonly number[],
  written: ReadonlyArray<{ path: string; eventDate: string }>,
): CommittedFile[] {
  const byDate = new Map<string, { rows: number; keys: Buffer[] }>();
  for (const i of lines) {
    const date = chunk.dates[i]!;
    let slot = byDate.get(date);
    if (!slot) byDate.set(date, (slot = { rows: 0, keys: [] }));
    slot.rows++;
    slot.keys.push(chunk.keys[i]!);
  }
  const files = written.map(({ path, eventDate }) => {
    const slot = byDate.get(eventDate);
    byDate.delete(eventDate); // a date split over several files: its keys go with the first
    return { path, edsId, rows: slot?.rows ?? 0, keys: slot?.keys ?? [] };
  });
  if (byDate.size > 0) throw new Error(`import chunk ${name}: no Parquet file for ${[...byDate.keys()].join(", ")}`);
  return files;
}
