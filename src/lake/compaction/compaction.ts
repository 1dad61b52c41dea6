/**
 * Background compaction of each event data store's small Parquet files (issue 5). The live consumer
 * writes one file per store and event date every second, imports one per chunk and date; compaction
 * merges the small files of one `eventdate=` partition into one larger file, so queries open few files.
 *
 * The swap, and why queries never see a row twice or miss one:
 * 1. the merged file is written by DuckDB to `lake/tmp/`, its row count checked against the sum of
 *    its inputs, fsynced, renamed into the partition as `compact-<ms>-<random>.parquet`, and the
 *    directory fsynced (until step 2 it is not in the catalog, so no query reads it);
 * 2. one catalog transaction records the merged file and forgets the files it replaces
 *    (`LakeCatalog.replaceFiles`, which refuses when one of them is already gone);
 * 3. the replaced files are deleted only once no query that may have taken its file list before step 2
 *    is still running (`FileSnapshots`: a query takes its list from the catalog, in one read, at start).
 * A kill at any point leaves either the old files or the merged one committed, never both: start-up
 * recovery (lake-maintenance.ts) deletes `lake/tmp/` and every Parquet file the catalog does not list,
 * which covers a merged file renamed but not recorded and replaced files not yet deleted.
 *
 * Which files merge (per store, per partition, only files smaller than `targetBytes`):
 * - a closed partition (event date before yesterday, UTC): all of them, in runs of up to `targetBytes`
 *   of input, as soon as there are two;
 * - an open partition (today, yesterday), which keeps receiving files: files of similar size (size
 *   tiers growing by a factor `minFiles`) merge once `minFiles` of one tier exist, so each event is
 *   rewritten about log_minFiles(target / flush size) times, not once per run.
 * A run merges until `maxBytesPerRun` of input is read (at least one merge), so it never holds the
 * DuckDB threads and the disk for long; the server runs one every `intervalMs`.
 */
import { randomBytes } from "node:crypto";
import { rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { makeDirectoryDurable } from "../../lib/durable-file.js";
import { moveFileDurable } from "../../lib/durable-write.js";
import type { LakeCatalog } from "../catalog/index.js";
import { LOCAL_DISK, type LocalFiles } from "../engine/local-files.js";
import { sqlString } from "../engine/parquet-writer.js";

const DAY_MS = 86_400_000;
const MIB = 1024 * 1024;

export interface CompactionOptions {
  /** Files at least this large are left alone; a closed partition's merges stop at this much input. */
  readonly targetBytes: number;
  /** Files of one size tier in an open partition before they merge (also the tier growth factor). */
  readonly minFiles: number;
  /** At most this many files go into one merge. */
  readonly maxFilesPerMerge: number;
  /** A run stops starting merges once it has read this much input. */
  readonly maxBytesPerRun: number;
}

const DEFAULT_COMPACTION: CompactionOptions = {
  targetBytes: 64 * MIB,
  minFiles: 8,
  maxFilesPerMerge: 1000,
  maxBytesPerRun: 256 * MIB,
};

/** Size of the smallest tier in an open partition: files below it are all tier 0. */
const TIER_BASE_BYTES = 256 * 1024;

/** The committed files a query reads, held until it ends so compaction does not delete them. */
export interface FileSnapshot {
  filesOf(storeId: string): readonly string[];
  /** Makes these files of the snapshot present locally (cluster mode: the read-through cache) until release. */
  ensureLocal(paths: readonly string[]): Promise<void>;
  release(): void;
}

/**
 * Queries' file lists and the deferred deletion of replaced files. A store's list comes from the
 * catalog in one read and a swap commits in one transaction, so each query sees a store's files either
 * before or after any swap. Replaced files are tagged with the generation current when their swap is
 * retired, and deleted once every query that took its lease in that generation or earlier has released
 * it. The lease is taken before the lists are read: a swap that commits while they are read is retired
 * in the lease's generation or a later one, so its files outlive the query.
 */
export class FileSnapshots {
  private generation = 0;
  private nextLease = 0;
  private readonly leases = new Map<number, number>();
  private retired: Array<{ readonly paths: readonly string[]; readonly generation: number }> = [];
  private deleting: Promise<void> = Promise.resolve();
  deletedFiles = 0;

  constructor(
    private readonly catalog: LakeCatalog,
    private readonly localFiles: LocalFiles = LOCAL_DISK,
  ) {}

  async take(storeIds: readonly string[]): Promise<FileSnapshot> {
    const lease = this.nextLease++;
    this.leases.set(lease, this.generation);
    const pins: Array<{ release(): void }> = [];
    const release = (): void => {
      for (const pin of pins.splice(0)) pin.release();
      if (this.leases.delete(lease)) void this.deleteUnread();
    };
    let lists: string[][];
    try {
      lists = await Promise.all(storeIds.map((id) => this.catalog.storeFiles(id)));
    } catch (error) {
      release();
      throw error;
    }
    const files = new Map(storeIds.map((id, i) => [id, lists[i]!]));
    return {
      filesOf: (id) => {
        const paths = files.get(id);
        if (paths === undefined) throw new Error(`The file snapshot does not hold store ${id}.`);
        return paths;
      },
      ensureLocal: async (paths) => void pins.push(await this.localFiles.pin(paths)),
      release,
    };
  }

  /** Called right after the catalog transaction that replaced `paths`. */
  retire(paths: readonly string[]): void {
    this.retired.push({ paths, generation: this.generation });
    this.generation++;
  }

  /** Replaced files waiting for the queries that may read them. */
  get pendingFiles(): number {
    return this.retired.reduce((sum, batch) => sum + batch.paths.length, 0);
  }

  /** Deletes the replaced files no running query can still read. */
  deleteUnread(): Promise<void> {
    this.deleting = this.deleting.then(async () => {
      const oldest = Math.min(Infinity, ...this.leases.values());
      const unread = this.retired.filter((batch) => batch.generation < oldest);
      if (unread.length === 0) return;
      this.retired = this.retired.filter((batch) => batch.generation >= oldest);
      for (const batch of unread)
        for (const path of batch.paths) {
          await this.localFiles.remove(path).catch(() => undefined); // Left over: start-up recovery deletes it.
          this.deletedFiles++;
        }
    });
    return this.deleting;
  }
}

export interface CompactionStats {
  runs: number;
  merges: number;
  filesMerged: number;
  eventsRewritten: number;
  bytesRead: number;
  bytesWritten: number;
  /** Merges dropped because a file they replaced was removed meanwhile (retention, store purge). */
  conflicts: number;
  failures: number;
  lastError?: string;
}

interface Candidate {
  readonly path: string;
  readonly rows: number;
  readonly size: number;
}

interface Merge {
  readonly edsId: string;
  readonly partition: string;
  readonly files: readonly Candidate[];
}

function tierOf(size: number, factor: number): number {
  return size < TIER_BASE_BYTES ? 0 : 1 + Math.floor(Math.log(size / TIER_BASE_BYTES) / Math.log(factor));
}

export class Compactor {
  readonly stats: CompactionStats = {
    runs: 0,
    merges: 0,
    filesMerged: 0,
    eventsRewritten: 0,
    bytesRead: 0,
    bytesWritten: 0,
    conflicts: 0,
    failures: 0,
  };
  /** Committed files never change: their sizes are kept, so a run does not stat every file again. */
  private readonly sizes = new Map<string, number>();
  private connection: DuckDBConnection | undefined;
  private closed = false;

  constructor(
    private readonly deps: {
      catalog: LakeCatalog;
      duck: DuckDBInstance;
      lakeDir: string;
      snapshots: FileSnapshots;
      nowMs: () => number;
      options?: Partial<CompactionOptions>;
      /** Where the inputs are read from (cluster mode: the read-through cache); default this disk. */
      localFiles?: LocalFiles;
    },
  ) {}

  private get localFiles(): LocalFiles {
    return this.deps.localFiles ?? LOCAL_DISK;
  }

  private get options(): CompactionOptions {
    return { ...DEFAULT_COMPACTION, ...this.deps.options };
  }

  /** One bounded run: plans, then merges until the run's input budget is spent. Returns the merges done. */
  async runOnce(): Promise<number> {
    if (this.closed) return 0;
    this.stats.runs++;
    const { maxBytesPerRun } = this.options;
    const plan = await this.plan();
    let read = 0;
    let done = 0;
    for (const merge of plan) {
      if (this.closed || (done > 0 && read >= maxBytesPerRun)) break;
      read += merge.files.reduce((sum, file) => sum + file.size, 0);
      if (await this.merge(merge)) done++;
    }
    return done;
  }

  /** Stops: interrupts a merge in progress (its temp file is removed, nothing is committed). */
  close(): void {
    this.closed = true;
    this.connection?.interrupt();
  }

  /** The merges worth doing now, the largest number of files first. */
  async plan(): Promise<Merge[]> {
    const { targetBytes, minFiles, maxFilesPerMerge } = this.options;
    const yesterday = new Date(this.deps.nowMs() - DAY_MS).toISOString().slice(0, 10);
    const partitions = new Map<string, { edsId: string; partition: string; files: Candidate[] }>();
    const known = new Set<string>();
    for (const file of await this.deps.catalog.allFiles()) {
      known.add(file.path);
      let size = this.sizes.get(file.path);
      if (size === undefined) {
        size = await this.localFiles.sizeOf(file.path);
        if (size === undefined) continue;
        this.sizes.set(file.path, size);
      }
      if (size >= targetBytes) continue;
      const partition = basename(dirname(file.path));
      if (!partition.startsWith("eventdate=")) continue;
      const slot = `${file.edsId}/${partition}`;
      let entry = partitions.get(slot);
      if (!entry) partitions.set(slot, (entry = { edsId: file.edsId, partition, files: [] }));
      entry.files.push({ path: file.path, rows: file.rows, size });
    }
    for (const path of this.sizes.keys()) if (!known.has(path)) this.sizes.delete(path);
    const merges: Merge[] = [];
    for (const { edsId, partition, files } of partitions.values()) {
      const closed = partition.slice("eventdate=".length) < yesterday;
      if (closed) {
        // Runs of consecutive files (path order) up to the target size.
        let run: Candidate[] = [];
        let bytes = 0;
        for (const file of files) {
          run.push(file);
          bytes += file.size;
          if (bytes >= targetBytes || run.length >= maxFilesPerMerge) {
            if (run.length >= 2) merges.push({ edsId, partition, files: run });
            run = [];
            bytes = 0;
          }
        }
        if (run.length >= 2) merges.push({ edsId, partition, files: run });
        continue;
      }
      const tiers = new Map<number, Candidate[]>();
      for (const file of files) {
        const tier = tierOf(file.size, minFiles);
        tiers.set(tier, [...(tiers.get(tier) ?? []), file]);
      }
      for (const tier of [...tiers.keys()].sort((a, b) => a - b)) {
        const group = tiers.get(tier)!;
        for (let i = 0; i + minFiles <= group.length; i += maxFilesPerMerge)
          merges.push({ edsId, partition, files: group.slice(i, i + maxFilesPerMerge) });
      }
    }
    return merges.sort((a, b) => b.files.length - a.files.length);
  }

  /** Writes, commits and retires one merge; false when it was dropped (conflict or failure). */
  private async merge(merge: Merge): Promise<boolean> {
    const { catalog, duck, lakeDir, snapshots, nowMs } = this.deps;
    const tmpDir = join(lakeDir, "tmp");
    await makeDirectoryDurable(tmpDir);
    const tmpPath = join(tmpDir, `${process.pid}-${randomBytes(8).toString("hex")}.parquet`);
    const finalDir = join(lakeDir, merge.edsId, merge.partition);
    const name = `compact-${String(nowMs()).padStart(14, "0")}-${randomBytes(4).toString("hex")}.parquet`;
    const finalPath = join(finalDir, name);
    let rows = 0;
    let finalMayExist = false;
    const pinned = await this.localFiles.pin(merge.files.map((file) => file.path));
    try {
      const connection = await duck.connect();
      this.connection = connection;
      try {
        const list = `[${merge.files.map((file) => sqlString(file.path)).join(", ")}]`;
        // The footers' counts, not the catalog's (an import chunk's date split over two files records its
        // rows with the first): the merged file must hold exactly the rows of its inputs.
        const rowsOf = async (files: string): Promise<number> =>
          (await connection.runAndReadAll(`SELECT num_rows FROM parquet_file_metadata(${files})`))
            .getRowsJson()
            .reduce((sum, row) => sum + Number(row[0]), 0);
        rows = await rowsOf(list);
        // union_by_name: files written before a column was added get it as NULL, as queries see them.
        await connection.run(
          `COPY (SELECT * FROM read_parquet(${list}, union_by_name = true, hive_partitioning = false)) ` +
            `TO ${sqlString(tmpPath)} (FORMAT parquet, COMPRESSION zstd)`,
        );
        const written = await rowsOf(sqlString(tmpPath));
        if (written !== rows) throw new Error(`merged file has ${written} rows, its inputs ${rows}`);
      } finally {
        this.connection = undefined;
        connection.closeSync();
      }
      const size = (await stat(tmpPath)).size;
      if (this.closed) throw new Error("closing");
      finalMayExist = true; // set before the move, which may fail after its rename
      await moveFileDurable(tmpPath, finalPath);
      const paths = merge.files.map((file) => file.path);
      if (!(await catalog.replaceFiles({ path: finalPath, edsId: merge.edsId, rows }, paths))) {
        this.stats.conflicts++;
        await rm(finalPath, { force: true });
        return false;
      }
      finalMayExist = false;
      snapshots.retire(paths);
      void snapshots.deleteUnread();
      this.sizes.set(finalPath, size);
      for (const path of paths) this.sizes.delete(path);
      this.stats.merges++;
      this.stats.filesMerged += paths.length;
      this.stats.eventsRewritten += rows;
      this.stats.bytesRead += merge.files.reduce((sum, file) => sum + file.size, 0);
      this.stats.bytesWritten += size;
      return true;
    } catch (error) {
      if (finalMayExist) await rm(finalPath, { force: true });
      if (this.closed) return false;
      this.stats.failures++;
      this.stats.lastError = error instanceof Error ? error.message : String(error);
      throw error;
    } finally {
      pinned.release();
      await rm(tmpPath, { force: true });
    }
  }
}

/**
 * The timer's task: one run at a time (a tick while a run is going is skipped, not queued), run
 * through `exclusive` (the retention sweep's turn-taking); logs a line per run that merged files and
 * each distinct failure once.
 */
export function compactionTask(
  compactor: Compactor,
  snapshots: FileSnapshots,
  exclusive: (task: () => Promise<void>) => Promise<void>,
  log: (line: string) => void = (line) => process.stderr.write(line),
): () => void {
  let compacting = false;
  let lastError = "";
  return () => {
    if (compacting) return;
    compacting = true;
    void exclusive(async () => {
      const before = { ...compactor.stats };
      try {
        const merges = await compactor.runOnce();
        if (merges > 0) {
          const after = compactor.stats;
          log(
            `lake: compaction merged ${after.filesMerged - before.filesMerged} files ` +
              `(${after.eventsRewritten - before.eventsRewritten} events, ${after.bytesRead - before.bytesRead} bytes) ` +
              `into ${merges} (${after.bytesWritten - before.bytesWritten} bytes); totals: ${after.merges} merges, ` +
              `${after.filesMerged} files; ${snapshots.pendingFiles} replaced files wait for running queries\n`,
          );
        }
        lastError = "";
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (message !== lastError) log(`lake: compaction failed, will retry: ${message}\n`);
        lastError = message;
      } finally {
        compacting = false;
      }
    });
  };
}

/**
 * Compaction's size knobs from the environment: internal tuning (tests make merges happen with a few
 * small files), not part of the settings contract. The interval is a setting (lakeCompactionIntervalMs).
 */
export function compactionFromEnv(env: NodeJS.ProcessEnv): { options: Partial<CompactionOptions> } {
  const number = (name: string): number | undefined => {
    const text = env[name];
    if (text === undefined || text.trim() === "") return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, not ${text}`);
    return value;
  };
  const options: { -readonly [K in keyof CompactionOptions]?: CompactionOptions[K] } = {};
  const target = number("CAIRN_LAKE_COMPACTION_TARGET_BYTES");
  if (target !== undefined) options.targetBytes = target;
  const minFiles = number("CAIRN_LAKE_COMPACTION_MIN_FILES");
  if (minFiles !== undefined) options.minFiles = Math.max(2, Math.floor(minFiles));
  const maxFiles = number("CAIRN_LAKE_COMPACTION_MAX_FILES");
  if (maxFiles !== undefined) options.maxFilesPerMerge = Math.max(2, Math.floor(maxFiles));
  const perRun = number("CAIRN_LAKE_COMPACTION_MAX_BYTES_PER_RUN");
  if (perRun !== undefined) options.maxBytesPerRun = perRun;
  return { options };
}
