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
  close?(): Promise<void>;
}
