import { syncDirectory } from "./sync-directory.js";
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, rmdir } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";

export { syncDirectory } from "./sync-directory.js";

/**
 * `mkdir -p` that survives a crash: every directory it creates is made durable by syncing its parent.
 * Without that, a power loss could forget a fresh date folder together with the files renamed into it.
 */
export async function makeDirectoryDurable(directory: string): Promise<void> {
  const firstCreated = await mkdir(directory, { recursive: true });
  if (firstCreated === undefined) return;
  const created = [firstCreated];
  for (const part of relative(firstCreated, directory)
    .split(sep)
    .filter((name) => name !== "")) {
    created.push(join(created[created.length - 1]!, part));
  }
  for (const path of created) await syncDirectory(dirname(path));
}

/**
 * Replaces `target` with `data` atomically and durably (style lesson 8): temp file in
 * `temporaryDirectory` (same file system, never inside a bucket, so a listing can't see it) → fsync
 * → rename → fsync of the target's directory. The temp file is removed on every error path.
 * `rename` is retried when a concurrent delete pruned the (empty) target directory meanwhile.
 */
export async function writeFileDurable(temporaryDirectory: string, target: string, data: Uint8Array): Promise<void> {
  await makeDirectoryDurable(temporaryDirectory);
  const temporaryPath = join(temporaryDirectory, `${process.pid}-${randomBytes(8).toString("hex")}.tmp`);
  try {
    const file = await open(temporaryPath, "wx", 0o644);
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await renameIntoDirectory(temporaryPath, target);
  } catch (error) {
    await rm(temporaryPath, { force: true });
    throw error;
  }
  await syncDirectory(dirname(target));
}

async function renameIntoDirectory(source: string, target: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    await makeDirectoryDurable(dirname(target));
    try {
      await rename(source, target);
      return;
    } catch (error) {
      if (errorCode(error) !== "ENOENT" || attempt >= 3) throw error;
    }
  }
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

export function errorCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") {
    return error.code;
  }
  return undefined;
}
