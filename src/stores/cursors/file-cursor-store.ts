import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../../lib/durable-write.js";
import type { CursorStore } from "./cursor-store.js";

/**
 * A consumer cursor in a small file, for consumers whose output is not transactional (files, S3).
 * Such a consumer MUST save the cursor only after its output is durable; a crash in between replays
 * the batch, which the consumer contract requires to be idempotent.
 */
export class FileCursorStore implements CursorStore {
  constructor(private readonly path: string) {}

  /** The saved cursor, 0 when none was saved yet. */
  async load(): Promise<number> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
      throw error;
    }
    const seq = Number(text.trim());
    if (!Number.isSafeInteger(seq) || seq < 0) throw new Error(`Cursor file ${this.path} is damaged: "${text}".`);
    return seq;
  }

  /** Durably replaces the cursor: temp file → fsync → rename → fsync of the directory. */
  async save(seq: number): Promise<void> {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`Invalid cursor ${seq}.`);
    await writeFileAtomic(this.path, `${seq}\n`);
  }
}
