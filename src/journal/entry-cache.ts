import type { JournalEntry } from "./journal.js";

/**
 * Recently appended or read entries of a journal whose entries are not in local files, so that
 * `slice()` can stay synchronous and free of I/O: it hands out what is here, and a caller that wants
 * a full slice calls `prepareSlice()` first, which reads the range into the cache. Bounded by entry
 * count; the oldest insertions go first, which for consumers reading forward are the lowest seqs.
 */
export class EntryCache {
  private readonly entries = new Map<number, JournalEntry>();

  constructor(private readonly entriesMax: number) {}

  add(entry: JournalEntry): void {
    this.entries.delete(entry.seq);
    this.entries.set(entry.seq, entry);
    while (this.entries.size > this.entriesMax) this.entries.delete(this.entries.keys().next().value!);
  }

  get(seq: number): JournalEntry | undefined {
    return this.entries.get(seq);
  }

  /** The cached entries from `start` on, in seq order, stopping at the first one missing or past `end`. */
  run(start: number, end: number): JournalEntry[] {
    const out: JournalEntry[] = [];
    for (let seq = start; seq <= end; seq++) {
      const entry = this.entries.get(seq);
      if (entry === undefined) break;
      out.push(entry);
    }
    return out;
  }

  /** Retention removed everything below `firstSeq`: a slice must not hand those out. */
  dropBelow(firstSeq: number): void {
    for (const seq of this.entries.keys()) if (seq < firstSeq) this.entries.delete(seq);
  }
}
