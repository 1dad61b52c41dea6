/**
 * Where the Lake's committed Parquet files are read from. Embedded, they are the files under
 * `<data-dir>/lake/` and nothing needs doing; in cluster mode they live in S3 and each node reads
 * them through a bounded local cache (src/lake/s3/lake-file-cache.ts, decision 0015), which makes a
 * file present before DuckDB opens it and keeps it until its reader is done.
 */
import { rm, stat } from "node:fs/promises";

export interface LocalFiles {
  /**
   * Makes each committed file present at its local path and keeps it there until `release` is
   * called (a query's snapshot, a compaction merge). Rejects when a file cannot be fetched.
   */
  pin(paths: readonly string[]): Promise<{ release(): void }>;
  /** A committed file's size in bytes (compaction planning), undefined when it is not found. */
  sizeOf(path: string): Promise<number | undefined>;
  /** Removes the local copy of a file the catalog no longer lists. */
  remove(path: string): Promise<void>;
}

/** The embedded Lake: every committed file is on this disk already. */
export const LOCAL_DISK: LocalFiles = {
  pin: async () => ({ release: () => undefined }),
  sizeOf: (path) =>
    stat(path).then(
      (s) => s.size,
      () => undefined,
    ),
  remove: (path) => rm(path, { force: true }),
};
