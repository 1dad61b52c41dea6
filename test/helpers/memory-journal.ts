import type {
  Journal,
  JournalAppendItem,
  JournalAppendResult,
  JournalEntry,
  JournalSlice,
} from "../../src/journal/journal.js";

/**
 * An in-memory Journal with the same contract as the file journal, minus durability. For unit tests
 * of consumers only; integration tests use the real file journal.
 */
export class MemoryJournal implements Journal {
  private readonly entries: JournalEntry[] = [];
  private readonly keys = new Set<string>();
  private waiters: Array<() => void> = [];
  private deletedBefore = 1;

  constructor(private readonly nowMs: () => number = () => Date.now()) {}

  async append(items: readonly JournalAppendItem[]): Promise<JournalAppendResult> {
    const seqs: Array<number | null> = [];
    for (const item of items) {
      if (item.dedupKey !== undefined) {
        if (this.keys.has(item.dedupKey)) {
          seqs.push(null);
          continue;
        }
        this.keys.add(item.dedupKey);
      }
      const seq = this.headSeq() + 1;
      const entry = { seq, appendedAtMs: this.nowMs(), json: item.json };
      this.entries.push(item.provenance === undefined ? entry : { ...entry, provenance: item.provenance });
      seqs.push(seq);
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    return { seqs };
  }

  /** Memory always takes writes. */
  async checkWritable(): Promise<void> {}

  async read(fromSeq: number, maxEntries: number): Promise<JournalEntry[]> {
    return this.entries.filter((e) => e.seq >= Math.max(fromSeq, this.deletedBefore)).slice(0, maxEntries);
  }

  slice(fromSeq: number, maxEntries: number): JournalSlice {
    const start = Math.max(fromSeq, this.firstSeq());
    const entries = this.entries.slice(start - 1, start - 1 + maxEntries);
    return { kind: "entries", start, end: start + entries.length - 1, entries };
  }

  async readMany(seqs: readonly number[]): Promise<Map<number, JournalEntry>> {
    const out = new Map<number, JournalEntry>();
    for (const seq of seqs) {
      const entry = this.entries[seq - 1];
      if (entry && seq >= this.deletedBefore) out.set(seq, entry);
    }
    return out;
  }

  headSeq(): number {
    return this.entries.length;
  }

  /** This process is the only writer: its head is the journal's. */
  latestSeq(): Promise<number> {
    return Promise.resolve(this.headSeq());
  }

  firstSeq(): number {
    return Math.min(this.deletedBefore, this.headSeq() + 1);
  }

  waitForAppend(afterSeq: number, signal?: AbortSignal): Promise<void> {
    if (this.headSeq() > afterSeq || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => resolve();
      this.waiters.push(wake);
      signal?.addEventListener("abort", wake, { once: true });
    });
  }

  async deleteBefore(beforeSeq: number, olderThanMs: number): Promise<number> {
    let deleted = 0;
    while (
      this.deletedBefore < beforeSeq &&
      this.entries[this.deletedBefore - 1] !== undefined &&
      this.entries[this.deletedBefore - 1]!.appendedAtMs < olderThanMs
    ) {
      this.deletedBefore++;
      deleted++;
    }
    return deleted;
  }

  async close(): Promise<void> {}
}
