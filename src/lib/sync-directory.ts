import { mkdir, open } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";

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
