/** A real full disk for the journal, for the tests that show Cairn fails closed. */
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";

/** A real full disk: a tiny tmpfs mounted over the journal directory only (needs root, as in CI). */
export function mountTinyJournal(directory: string, size: string): string | false {
  mkdirSync(directory, { recursive: true });
  const result = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", directory], { encoding: "utf8" });
  if (result.status !== 0) {
    const reason = `SKIPPED LOUDLY: cannot mount a tmpfs to fill the journal's disk (${result.stderr.trim() || result.error?.message}); run as root.`;
    process.stderr.write(`\n*** ${reason} ***\n\n`);
    return reason;
  }
  return false;
}

/** Writes zeros to `path` until the file system is full. */
export function fillUp(path: string): void {
  const chunk = Buffer.alloc(4096);
  const fd = openSync(path, "w");
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
}
