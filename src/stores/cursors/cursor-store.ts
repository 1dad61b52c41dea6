/**
 * A consumer's cursor kept outside the consumer's own output: the highest journal seq whose effects
 * are durable. A consumer whose output is transactional keeps its cursor in that transaction instead
 * (docs/specs/consumer.md); this store is for outputs that are not (files, S3).
 */
export interface CursorStore {
  /** The cursor saved last, 0 when none was saved yet. */
  load(): Promise<number>;
  /**
   * Durably replaces the cursor before resolving; a crash leaves the old or the new value. Rejects
   * with a RangeError for anything but a safe integer ≥ 0, leaving the saved cursor as it was.
   */
  save(seq: number): Promise<void>;
}
