import { chmod, mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { createdDirectories, PRIVATE_DIRECTORY_MODE } from "./file-modes.js";

/**
 * fsyncs a directory, which makes the entries created, renamed or removed in it durable: the last
 * step of every temp-file → fsync → rename write (docs/specs/journal.md, docs/specs/object-store.md).
 */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * `mkdir -p` that survives a crash: every directory it creates is made durable by syncing its parent.
 * Without that, a power loss could forget a fresh date folder together with the files renamed into it.
 * New directories are 0700 whatever the umask: they live under the private data directory.
 */
export async function makeDirectoryDurable(directory: string): Promise<void> {
  const firstCreated = await mkdir(directory, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  // All at once: each step is a thread-pool round trip, and so a turn of a busy event loop; a new
  // date folder of a log file is five or six directories (docs/decisions/0023-trail-delivery-speed.md).
  // Callers rely only on all of them being durable once this resolves, so their order is free.
  await Promise.all(
    createdDirectories(firstCreated, directory).map(async (path) => {
      await chmod(path, PRIVATE_DIRECTORY_MODE);
      await syncDirectory(dirname(path));
    }),
  );
}
