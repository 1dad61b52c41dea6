import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { errorCode } from "./error-code.js";
import { PRIVATE_FILE_MODE } from "./file-modes.js";
import { makeDirectoryDurable, syncDirectory } from "./sync-directory.js";

export interface DurableWriteOptions {
  /**
   * Mode of the new file, applied with chmod as well because the creation mode is masked by umask.
   * Default: 0600, as for everything under the data directory (docs/reference/security.md).
   */
  readonly mode?: number;
  /**
   * Where the temp file is written; it must be on the target's file system. Default: beside the
   * target, as a hidden `.<name>.<random>.tmp`. Give one when the target's directory is listed by
   * someone who must never see a temp file (an object store's bucket).
   */
  readonly temporaryDirectory?: string;
  /** Creates missing directories (temp and target) durably; default false (a missing directory is an error). */
  readonly createDirectories?: boolean;
}

/**
 * Replaces `path` with `data` so that a crash leaves either the old file or the new one, never a
 * torn mix: write a temp file, fsync, rename over, then fsync the directory so the rename itself is
 * durable. The temp file is removed on every error path.
 *
 * @example
 * await writeFileAtomic("/data/credentials", "[default]\n…", { mode: 0o600 });
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: DurableWriteOptions = {},
): Promise<void> {
  const { mode = PRIVATE_FILE_MODE, temporaryDirectory, createDirectories = false } = options;
  if (createDirectories && temporaryDirectory !== undefined) await makeDirectoryDurable(temporaryDirectory);
  const temporaryPath =
    temporaryDirectory === undefined
      ? join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`)
      : join(temporaryDirectory, `${process.pid}-${randomBytes(8).toString("hex")}.tmp`);
  try {
    const file = await open(temporaryPath, "wx", mode);
    try {
      await file.chmod(mode);
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await renameInto(temporaryPath, path, createDirectories);
  } catch (error) {
    await rm(temporaryPath, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}

/**
 * Publishes a file another component wrote (DuckDB's `COPY … TO`) the same way: make it 0600 (the
 * writer chose its mode under the umask), fsync it, rename it over `target`, fsync the target's
 * directory. The source is left to the caller on error.
 */
export async function moveFileDurable(
  source: string,
  target: string,
  options: Pick<DurableWriteOptions, "createDirectories"> = {},
): Promise<void> {
  const file = await open(source, "r+");
  try {
    await file.chmod(PRIVATE_FILE_MODE);
    await file.sync();
  } finally {
    await file.close();
  }
  await renameInto(source, target, options.createDirectories ?? false);
  await syncDirectory(dirname(target));
}

/** `rename` that, creating directories, is retried when a concurrent delete pruned the (empty) target directory meanwhile. */
async function renameInto(source: string, target: string, createDirectories: boolean): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    if (createDirectories) await makeDirectoryDurable(dirname(target));
    try {
      await rename(source, target);
      return;
    } catch (error) {
      if (!createDirectories || errorCode(error) !== "ENOENT" || attempt >= 3) throw error;
    }
  }
}
