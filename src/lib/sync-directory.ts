import { open } from "node:fs/promises";

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
