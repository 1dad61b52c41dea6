import { closeSync, openSync, readSync } from "node:fs";
import { decodeBlock } from "./block-reader.js";
import type { JournalEntry, JournalSlice } from "./journal.js";

/** File handles kept open; a consumer reads one segment at a time, two across a roll. */
const OPEN_FILES_MAX = 4;

/**
 * Reads journal blocks whose locations another thread's journal handed over (`Journal.slice`),
 * with its own file descriptors: the event-history worker reads and inflates off the ingest thread.
 * Synchronous I/O and inflate, meant for a worker thread that does nothing else meanwhile. Every block
 * is verified (header, seq, count, CRC) as the journal's own reader does.
 */
export class SliceReader {
  private readonly files = new Map<string, number>();

  async read(range: JournalSlice): Promise<JournalEntry[]> {
    if (range.kind === "entries") return [...range.entries];
    const out: JournalEntry[] = [];
    for (const block of range.blocks) {
      const bytes = Buffer.allocUnsafe(block.bytes);
      const fd = this.file(block.path);
      for (let done = 0; done < bytes.length;) {
        const read = readSync(fd, bytes, done, bytes.length - done, block.offset + done);
        if (read === 0) throw new Error(`Unexpected end of ${block.path} at ${block.offset + done}.`);
        done += read;
      }
      const decoded = await decodeBlock(bytes, block, block.path, Number.MAX_SAFE_INTEGER);
      for (const entry of decoded.entries) if (entry.seq >= range.start && entry.seq <= range.end) out.push(entry);
    }
    return out;
  }

  private file(path: string): number {
    let fd = this.files.get(path);
    if (fd !== undefined) {
      // Most recently used last, so the oldest segment (deleted by retention soonest) closes first.
      this.files.delete(path);
      this.files.set(path, fd);
      return fd;
    }
    fd = openSync(path, "r");
    this.files.set(path, fd);
    while (this.files.size > OPEN_FILES_MAX) {
      const [oldest, oldFd] = this.files.entries().next().value!;
      this.files.delete(oldest);
      closeSync(oldFd);
    }
    return fd;
  }

  close(): void {
    for (const fd of this.files.values()) closeSync(fd);
    this.files.clear();
  }
}
