/**
 * The highest seq a consumer has applied, and callers waiting for it to reach a seq. The API uses it
 * for read-your-writes: a LookupEvents call sees every event acknowledged before it started.
 */
export class AppliedSeq {
  private applied = 0;
  private waiters: Array<{ seq: number; resolve: () => void }> = [];

  constructor(initial = 0) {
    this.applied = initial;
  }

  value(): number {
    return this.applied;
  }

  /** Moves the applied seq forward (never back) and wakes the waiters it satisfies. */
  advance(seq: number): void {
    if (seq <= this.applied) return;
    this.applied = seq;
    const ready = this.waiters.filter((w) => w.seq <= seq);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.seq > seq);
    for (const waiter of ready) waiter.resolve();
  }

  /** Resolves once `seq` is applied, or after `timeoutMs` (a lagging index must not hang the API). */
  waitFor(seq: number, timeoutMs: number): Promise<void> {
    if (seq <= this.applied) return Promise.resolve();
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
}
