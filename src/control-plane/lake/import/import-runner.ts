/**
 * The background part of an import: list the source's trail files, parse and normalise them on
 * worker threads (import/import-worker.ts, the ingest rules), de-duplicate in file order against the
 * store and the import itself, and write Parquet in chunks of ~100,000 rows, one DuckDB statement per
 * chunk for all its event dates (import/bulk-writer.ts). A chunk's files and keys are recorded in
 * the catalog in one transaction after they are durable; while one chunk is written the next is read.
 * The catalog is asked about a whole file's keys at once, never once per record.
 */
import type { DuckDBInstance } from "@duckdb/node-api";
import type { ObjectStore } from "../../../stores/objects/index.js";
import { writeImportChunk } from "./bulk-writer.js";
import type { FileRequest, FileResult } from "./import-rows.js";
import { listImportFiles, readImportObject, type ImportFile, type ImportLocation } from "./import-source.js";
import { ImportWorkerPool } from "./worker-pool.js";
import type { CommittedFile, ImportFailure, LakeCatalog } from "../../../lake/catalog/index.js";

const CHUNK_ROWS = 100_000;
/** Files read ahead of the one being de-duplicated, per worker. */
const READ_AHEAD_PER_WORKER = 6;
/** GetImport's statistics are saved at most this often while files complete (and at every commit). */
const SAVE_INTERVAL_MS = 200;

export interface ImportDocument {
  readonly id: string;
  readonly accountId: string;
  readonly edsId: string;
  readonly destinationArn: string;
  readonly sourceUri: string;
  /** The directory of a file:// import ("" for s3://). */
  readonly directory: string;
  /** Absent in documents written before s3:// imports: then `directory` is the source. */
  readonly location?: ImportLocation;
  readonly region: string;
  readonly roleArn: string;
  readonly startEventTimeMs?: number;
  readonly endEventTimeMs?: number;
  status: "INITIALIZING" | "IN_PROGRESS" | "FAILED" | "STOPPED" | "COMPLETED";
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
  /** The object store s3:// sources are read from. */
  readonly objectStore?: ObjectStore;
}

interface Chunk {
  readonly lines: string[];
  readonly dates: string[];
  readonly keys: Buffer[];
  readonly seen: Set<string>;
}

const newChunk = (): Chunk => ({ lines: [], dates: [], keys: [], seen: new Set() });

type ParsedFile = Extract<FileResult, { ok: true }>;

/**
 * Adds to `chunk` the file's records that are new: not in the store (`stored`, the catalog's answer
 * for `keys`), the chunk, or the chunk being written (`inFlight`). Returns how many it added.
 */
function addNewRecords(
  chunk: Chunk,
  result: ParsedFile,
  keys: readonly Buffer[],
  stored: readonly boolean[],
  inFlight: ReadonlySet<string> | undefined,
): number {
  let added = 0;
  for (const [i, line] of result.lines.entries()) {
    const key = keys[i]!;
    const hex = key.toString("hex");
    if (stored[i] || chunk.seen.has(hex) || inFlight?.has(hex)) continue;
    chunk.seen.add(hex);
    chunk.lines.push(line);
    chunk.dates.push(result.dates[i]!);
    chunk.keys.push(key);
    added++;
  }
  return added;
}

/** A file's 16-byte record keys, as views of the worker's buffer. */
function keysOf(result: ParsedFile): Buffer[] {
  const all = Buffer.from(result.keys.buffer, result.keys.byteOffset, result.keys.byteLength);
  return result.lines.map((_, i) => all.subarray(i * 16, i * 16 + 16));
}

/** Reads one file on the pool: its path (file://), or its body fetched here and handed over (s3://). */
function fileReader(
  doc: ImportDocument,
  location: ImportLocation,
  workers: ImportWorkerPool,
  deps: RunnerDeps,
): (file: ImportFile, id: number) => Promise<FileResult> {
  return async (file, id) => {
    const base: FileRequest = {
      id,
      path: file.location,
      nowMs: deps.nowMs(),
      ...(doc.startEventTimeMs !== undefined ? { startMs: doc.startEventTimeMs } : {}),
      ...(doc.endEventTimeMs !== undefined ? { endMs: doc.endEventTimeMs } : {}),
    };
    if (location.kind === "file") return workers.run(base);
    let body: Buffer | undefined;
    try {
      body = await readImportObject(deps.objectStore!, location.bucket, file.key!);
    } catch (error) {
      return { id, ok: false, problem: "unreadable", message: error instanceof Error ? error.message : String(error) };
    }
    if (body === undefined) return { id, ok: false, problem: "unreadable", message: "The object does not exist." };
    // A private copy: the worker takes the buffer over, and SDK bodies may share theirs.
    return workers.run({ ...base, bytes: new Uint8Array(body) });
  };
}

export async function runImport(doc: ImportDocument, deps: RunnerDeps): Promise<void> {
  // Failures are recorded a file at a time; FailedEntries counts them once they are.
  const failures: ImportFailure[] = [];
  const fail = (location: string, errorType: string, errorMessage: string): void => {
    failures.push({
      Location: location,
      Status: "FAILED",
      ErrorType: errorType,
      ErrorMessage: errorMessage.slice(0, 1000),
      LastUpdatedTime: deps.nowMs() / 1000,
    });
  };
  const recordFailures = async (): Promise<void> => {
    if (failures.length === 0) return;
    const batch = failures.splice(0);
    await deps.catalog.addImportFailures(doc.id, batch);
    doc.stats.FailedEntries += batch.length;
  };
  let lastSaveMs = 0;
  const save = async (force: boolean): Promise<void> => {
    const now = deps.nowMs();
    if (!force && now - lastSaveMs < SAVE_INTERVAL_MS) return;
    doc.updatedMs = now;
    lastSaveMs = now;
    await deps.save(doc);
  };

  let chunkNo = 0;
  const writeChunk = async (chunk: Chunk): Promise<void> => {
    if (chunk.lines.length === 0) return;
    const name = `import-${doc.id}-${String(chunkNo++).padStart(6, "0")}`;
    const written = await writeImportChunk(deps.duck, { lakeDir: deps.lakeDir, edsId: doc.edsId, name }, chunk.lines);
    const byDate = new Map<string, { rows: number; keys: Buffer[] }>();
    chunk.dates.forEach((date, i) => {
      let slot = byDate.get(date);
      if (!slot) byDate.set(date, (slot = { rows: 0, keys: [] }));
      slot.rows++;
      slot.keys.push(chunk.keys[i]!);
    });
    const files: CommittedFile[] = written.map(({ path, eventDate }) => {
      const slot = byDate.get(eventDate);
      byDate.delete(eventDate); // a date split over several files: its keys go with the first
      return { path, edsId: doc.edsId, rows: slot?.rows ?? 0, keys: slot?.keys ?? [] };
    });
    if (byDate.size > 0) throw new Error(`import chunk ${name}: no Parquet file for ${[...byDate.keys()].join(", ")}`);
    await deps.catalog.commitFiles(files);
    await save(true);
  };

  let pool: ImportWorkerPool | undefined;
  let flushing: Promise<void> = Promise.resolve();
  try {
    const location: ImportLocation = doc.location ?? { kind: "file", directory: doc.directory };
    const files = await listImportFiles(location, deps.objectStore);
    Object.assign(doc, { status: "IN_PROGRESS", updatedMs: deps.nowMs() });
    doc.stats.PrefixesFound = 1;
    await save(true);
    pool = new ImportWorkerPool();
    const workers = pool;
    const request = fileReader(doc, location, workers, deps);
    const ahead: Array<Promise<FileResult>> = [];
    let next = 0;
    const readAhead = (): void => {
      while (next < files.length && ahead.length < READ_AHEAD_PER_WORKER * workers.size) {
        const promise = request(files[next]!, next++);
        promise.catch(() => undefined); // observed when its turn comes
        ahead.push(promise);
      }
    };
    readAhead();
    let chunk = newChunk();
    let inFlight: Set<string> | undefined;
    for (let index = 0; index < files.length; index++) {
      const result = await ahead.shift()!;
      readAhead();
      const file = files[index]!;
      if (!result.ok) fail(file.location, result.problem, result.message);
      else {
        const keys = keysOf(result);
        // The chunk in flight when the catalog is asked: if it commits meanwhile, its keys may be
        // missing from the answer, so they still count as seen.
        const writing = inFlight;
        const stored = await deps.catalog.hasKeys(doc.edsId, keys);
        doc.stats.EventsCompleted += addNewRecords(chunk, result, keys, stored, writing);
        // Rejected records in the order of the file, as the single-threaded runner listed them.
        for (const f of result.failures) fail(`${file.location}#${f.index}`, f.errorCode, f.message);
      }
      await recordFailures();
      doc.stats.FilesCompleted++;
      if (chunk.lines.length >= CHUNK_ROWS) {
        // One chunk is written while the next is read; its keys count as seen until they are in the catalog.
        await flushing;
        const full = chunk;
        chunk = newChunk();
        inFlight = full.seen;
        flushing = writeChunk(full).then(() => {
          if (inFlight === full.seen) inFlight = undefined;
        });
        flushing.catch(() => undefined);
      }
      await save(false);
    }
    await flushing;
    await writeChunk(chunk);
    doc.stats.PrefixesCompleted = 1;
    Object.assign(doc, { status: "COMPLETED", updatedMs: deps.nowMs() });
  } catch (error) {
    await flushing.catch(() => undefined);
    fail(doc.sourceUri, "ImportFailed", error instanceof Error ? error.message : String(error));
    await recordFailures();
    Object.assign(doc, { status: "FAILED", updatedMs: deps.nowMs() });
  } finally {
    await pool?.close();
  }
  await deps.save(doc);
}
