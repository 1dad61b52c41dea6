import { chmodSync, mkdirSync } from "node:fs";
import { chmod, lstat, readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";

/**
 * Everything under the data directory is private to the server's user (docs/reference/security.md):
 * files 0600, directories 0700. Creation modes are masked by the process umask (022, 000, …), so
 * code that creates a file states its mode, and files other components create (SQLite, DuckDB) are
 * chmod-ed after the fact.
 */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIRECTORY_MODE = 0o700;

/** The directories `mkdir -p directory` would create, outermost first. */
export function createdDirectories(firstCreated: string | undefined, directory: string): string[] {
  if (firstCreated === undefined) return [];
  const created = [firstCreated];
  for (const part of relative(firstCreated, directory)
    .split(sep)
    .filter((name) => name !== "")) {
    created.push(join(created[created.length - 1]!, part));
  }
  return created;
}

/** `mkdir -p` whose new directories are 0700 whatever the umask (SQLite files are opened synchronously). */
export function makePrivateDirectorySync(directory: string): void {
  const firstCreated = mkdirSync(directory, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  for (const path of createdDirectories(firstCreated, directory)) chmodSync(path, PRIVATE_DIRECTORY_MODE);
}

/**
 * Sets every file under `root` (and `root` itself) to 0600 and every directory to 0700; resolves how
 * many modes it changed. Symbolic links are neither followed nor changed. It upgrades a data
 * directory written before modes were set explicitly (and repairs one an operator loosened).
 */
export async function restrictTree(root: string): Promise<number> {
  let changed = 0;
  const visit = async (path: string): Promise<void> => {
    const stats = await lstat(path);
    if (stats.isSymbolicLink()) return;
    const wanted = stats.isDirectory() ? PRIVATE_DIRECTORY_MODE : PRIVATE_FILE_MODE;
    if ((stats.mode & 0o7777) !== wanted) {
      await chmod(path, wanted);
      changed += 1;
    }
    if (!stats.isDirectory()) return;
    for (const name of await readdir(path)) await visit(join(path, name));
  };
  await visit(root);
  return changed;
}
