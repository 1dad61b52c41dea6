import { syncDirectory } from "./sync-directory.js";
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Replaces `path` with `data` so that a crash leaves either the old file or the new one, never a
 * torn mix: write a temp file beside it, fsync, rename over, then fsync the directory so the rename
 * itself is durable. `mode` is applied with chmod as well, because the creation mode is masked by umask.
 *
 * @example
 * await writeFileAtomic("/data/credentials", "[default]\n…", 0o600);
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const directory = dirname(path);
  const temporaryPath = join(directory, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const file = await open(temporaryPath, "wx", mode);
    try {
      await file.chmod(mode);
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporaryPath, path);
  } catch (error) {
    await rm(temporaryPath, { force: true });
    throw error;
  }
  await syncDirectory(directory);
}
