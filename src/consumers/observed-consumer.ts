import type { JournalEntry } from "../journal/journal.js";
import type { Consumer } from "./consumer.js";

/**
 * Wraps a consumer so callers can wait until it has applied a given seq. The API uses it for
 * read-your-writes: a LookupEvents call sees every event acknowledged before it started.
 */
export class ObservedConsumer implements Consumer {
  readonly name: string;
  private appliedSeq = 0;
  private waiters: Array<{ seq: number; resolve: () => void }> = [];

  constructor(private readonly inner: Consumer) {
    this.name = inner.name;
  }

  async loadCursor(): Promise<number> {
    this.appliedSeq = await this.inner.loadCursor();
    return this.appliedSeq;
  }

  async handle(batch: readonly JournalEntry[]): Promise<void> {
    await this.inner.handle(batch);
    const last = batch[batch.length - 1];
    if (last === undefined) return;
    this.appliedSeq = last.seq;
    const ready = this.waiters.filter((w) => w.seq <= this.appliedSeq);
    this.waiters = this.waiters.filter((w) => w.seq > this.appliedSeq);
    for (const waiter of ready) waiter.resolve();
  }

  cursor(): number {
    return this.appliedSeq;
  }

  /** Resolves once `seq` is applied, or after `timeoutMs` (a lagging index must not hang the API). */
  waitFor(seq: number, timeoutMs: number): Promise<void> {
    if (seq <= this.appliedSeq) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        resolve();
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ seq, resolve: done });
    });
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
