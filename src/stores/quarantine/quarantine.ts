/**
 * Records that a consumer could not write although its store works (docs/reference/security.md,
 * "Quarantine"): the consumer sets such a record aside here and goes on, instead of retrying it
 * forever and stalling every record behind it. The record itself stays in the journal (until
 * journal retention); this keeps which consumer skipped which seq, why and when.
 */

/** What the store keeps of one error message, at most (longer ones are cut). */
export const QUARANTINE_ERROR_CHARS_MAX = 1_000;
/** The largest page `list` returns. */
export const QUARANTINE_PAGE_MAX = 1_000;

export interface QuarantinedRecord {
  /** The consumer that could not write the record: `event-history`, `lake-writer`, `trail-delivery:<trail ARN>`. */
  readonly consumer: string;
  /** The record's journal seq. */
  readonly seq: number;
  /** The record's eventID, when its JSON could be read. */
  readonly eventId?: string;
  /** The account the record belongs to (recipientAccountId, else userIdentity.accountId), when readable. */
  readonly accountId?: string;
  /** Why the store refused it, without server paths; cut to QUARANTINE_ERROR_CHARS_MAX characters. */
  readonly error: string;
  readonly quarantinedAtMs: number;
}

/** Where a page of `list` ends; the next page starts after it. */
export interface QuarantinePosition {
  readonly seq: number;
  readonly consumer: string;
}

export interface QuarantineListOptions {
  /** Only this account's records (records whose account could not be read belong to none). */
  readonly accountId?: string;
  readonly consumer?: string;
  /** 1–QUARANTINE_PAGE_MAX. */
  readonly maxResults: number;
  readonly after?: QuarantinePosition;
}

export interface QuarantinePage {
  /** In journal order (seq, then consumer). */
  readonly records: QuarantinedRecord[];
  /** Present when more records follow. */
  readonly next?: QuarantinePosition;
}

/** Which records `dismiss` removes: those matching every filter given (none: every record). */
export interface QuarantineDismissal {
  /** Only this account's records (records whose account could not be read belong to none). */
  readonly accountId?: string;
  readonly consumer?: string;
  readonly seq?: number;
}

export interface QuarantineStore {
  /**
   * Keeps the record durably before it resolves. Adding a consumer's seq again (a replay after a
   * crash) keeps the first entry.
   */
  add(record: QuarantinedRecord): Promise<void>;
  /** Takes a record back: the consumer set it aside, but could not show that its store works. */
  remove(consumer: string, seq: number): Promise<void>;
  /**
   * Clears records an operator has looked at (`cairn quarantine dismiss`), durably before it
   * resolves; returns how many it removed.
   */
  dismiss(which: QuarantineDismissal): Promise<number>;
  count(): Promise<number>;
  list(options: QuarantineListOptions): Promise<QuarantinePage>;
  close(): Promise<void>;
}
