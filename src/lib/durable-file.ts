import { rm, rmdir } from "node:fs/promises";
import { dirname, sep } from "node:path";
import { writeFileAtomic } from "./durable-write.js";
import { errorCode } from "./error-code.js";
import { syncDirectory } from "./sync-directory.js";

export { errorCode } from "./error-code.js";
export { makeDirectoryDurable, syncDirectory } from "./sync-directory.js";

/**
 * Replaces `target` with `data` atomically and durably (style lesson 8), the temp file in
 * `temporaryDirectory` (same file system, never inside a bucket, so a listing can't see it) and
 * missing directories created durably: `writeFileAtomic` with those options.
 */
export function writeFileDurable(temporaryDirectory: string, target: string, data: Uint8Array): Promise<void> {
  return writeFileAtomic(target, data, { temporaryDirectory, createDirectories: true });
}

/** Removes a file durably; a missing file is not an error (S3 DeleteObject is idempotent). */
export async function removeFileDurable(path: string): Promise<void> {
  await rm(path, { force: true });
  try {
    await syncDirectory(dirname(path));
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw error;
  }
}

/**
 * Removes the now-empty directories between `path`'s parent and `stopAt` (exclusive), because S3
 * has no folders: an empty folder left behind would be invisible to listings but pile up on disk.
 */
export async function pruneEmptyDirectories(path: string, stopAt: string): Promise<void> {
  let directory = dirname(path);
  while (directory.startsWith(stopAt + sep)) {
    try {
      await rmdir(directory);
    } catch (error) {
      const code = errorCode(error);
      if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOENT") return;
      throw error;
    }
    await syncDirectory(dirname(directory));
    directory = dirname(directory);
  }
}
