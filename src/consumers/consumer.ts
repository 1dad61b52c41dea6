import type { JournalEntry } from "../journal/journal.js";

/**
 * A journal consumer (architecture stage 4). The runner (runner.ts) feeds it batches in seq order,
 * starting after the cursor it reports. Contract (docs/specs/consumer.md):
 * - handle() MUST make its output durable before it resolves, and MUST record the batch's last seq
 *   as its cursor in the same durable step when its storage allows (so output and cursor never disagree);
 * - handle() MUST be idempotent: after a crash the runner may hand it entries it already applied;
 * - a throw leaves the cursor where it was; the runner retries the same batch after a back-off.
 */
export interface Consumer {
  readonly name: string;
  /** Highest seq already applied durably; 0 when nothing was. */
  loadCursor(): Promise<number>;
  handle(batch: readonly JournalEntry[]): Promise<void>;
  /**
   * Resolves when the consumer's store accepts writes now, changing nothing a reader sees (an empty
   * transaction, say); rejects when it does not. The runner calls it around a record that failed
   * alone, to tell a record the store refuses from a store that is down (docs/specs/consumer.md,
   * "Quarantine"). A consumer without it never has a record quarantined: it retries it forever.
   */
  probe?(): Promise<void>;
  close?(): Promise<void>;
}

/** What the module registry knows of a running consumer: for journal retention and `/health`. */
export interface ConsumerStatus {
  /** Unique among the server's consumers, e.g. `event-history`, `trail-delivery:<trail ARN>`. */
  readonly name: string;
  /** Highest seq applied durably; 0 when nothing was. */
  readonly cursor: number;
  /** Lowest seq the consumer still needs: journal retention keeps it and everything after it. */
  readonly neededFromSeq: number;
  /** The last failure, until a batch succeeds again. */
  readonly lastError?: string;
  /**
   * Highest seq up to which nothing waits in this consumer: applied, quarantined, or looked at and
   * not selected (a trail's cursor moves only with its files). `/health` measures lag and stalls
   * from it; the cursor when absent.
   */
  readonly progressSeq?: number;
}
