import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { compareUtf8 } from "../utf8-order.js";
import { errorCode } from "../../../lib/durable-file.js";

export interface TreeListing {
  readonly prefix: string;
  readonly startAfter: string;
  /** Stop after this many keys. */
  readonly limit: number;
}

interface Entry {
  readonly name: string;
  readonly isDirectory: boolean;
  /** The key (file) or key prefix ending in `/` (directory) this entry stands for. */
  readonly path: string;
}

/**
 * Keys of the files under `root`, in UTF-8 byte order, with `prefix` and `startAfter` applied while
 * walking so that a listing deep in a large trail reads only the folders it needs.
 *
 * Ordering: within one folder, a subfolder `d` is sorted as `d/`. Every key below it starts with
 * `d/`, and no sibling file can be named `d` (the store refuses that conflict), so a depth-first
 * walk in this order yields keys in global byte order — `a-c` before `a/b` before `a0`.
 */
export async function listTreeKeys(root: string, listing: TreeListing): Promise<string[]> {
  const keys: string[] = [];
  await walk(root, "", listing, keys);
  return keys;
}

async function walk(directory: string, keyPrefix: string, listing: TreeListing, keys: string[]): Promise<void> {
  for (const entry of await sortedEntries(directory, keyPrefix)) {
    if (keys.length >= listing.limit) return;
    if (entry.isDirectory) {
      if (!directoryMayMatch(entry.path, listing)) continue;
      await walk(join(directory, entry.name), entry.path, listing, keys);
    } else if (entry.path.startsWith(listing.prefix) && compareUtf8(entry.path, listing.startAfter) > 0) {
      keys.push(entry.path);
    }
  }
}

/** Whether any key starting with `path` (which ends in `/`) can pass the prefix and startAfter filters. */
function directoryMayMatch(path: string, listing: TreeListing): boolean {
  if (!path.startsWith(listing.prefix) && !listing.prefix.startsWith(path)) return false;
  // All keys below are `path` + something; they are all ≤ startAfter exactly when `path` sorts
  // before startAfter without being a prefix of it.
  return compareUtf8(path, listing.startAfter) > 0 || listing.startAfter.startsWith(path);
}

async function sortedEntries(directory: string, keyPrefix: string): Promise<Entry[]> {
  let dirents;
  try {
    dirents = await readdir(directory, { withFileTypes: true });
  } catch (error) {
    // A folder pruned by a concurrent delete simply has no keys any more.
    if (errorCode(error) === "ENOENT" || errorCode(error) === "ENOTDIR") return [];
    throw error;
  }
  const entries: Entry[] = [];
  for (const dirent of dirents) {
    // Symlinks, sockets and the like are never written by the store; ignore rather than follow them.
    if (!dirent.isDirectory() && !dirent.isFile()) continue;
    const isDirectory = dirent.isDirectory();
    entries.push({ name: dirent.name, isDirectory, path: keyPrefix + dirent.name + (isDirectory ? "/" : "") });
  }
  return entries.sort((left, right) => compareUtf8(left.path, right.path));
}
