import { rm, rmdir } from "node:fs/promises";
import { dirname, sep } from "node:path";
import { errorCode } from "./error-code.js";
import { syncDirectory } from "./sync-directory.js";

export { errorCode } from "./error-code.js";
export { makeDirectoryDurable, syncDirectory } from "./sync-directory.js";

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
