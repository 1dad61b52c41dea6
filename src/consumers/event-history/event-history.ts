/**
 * Event history (spec §4): the LookupEvents read model. The embedded implementation is a journal
 * consumer backed by SQLite (on this thread, or on a worker thread as the server runs it); another
 * backend (PostgreSQL, …) implements the same EventHistory contract, checked by one shared suite
 * (test/contract/event-history.suite.ts).
 */
export type LookupAttributeKey =
  "EventId" | "EventName" | "ReadOnly" | "Username" | "ResourceType" | "ResourceName" | "EventSource" | "AccessKeyId";

export const LOOKUP_ATTRIBUTE_KEYS: readonly LookupAttributeKey[] = [
  "EventId",
  "EventName",
  "ReadOnly",
  "Username",
  "ResourceType",
  "ResourceName",
  "EventSource",
  "AccessKeyId",
];

export interface LookupQuery {
  readonly accountId: string;
  readonly region: string;
  /** ANDed (Cairn extension; AWS allows one). Already validated by the API layer. */
  readonly attributes: ReadonlyArray<{ key: LookupAttributeKey; value: string }>;
  /** Inclusive bounds, epoch ms. */
  readonly startTimeMs: number;
  readonly endTimeMs: number;
  readonly maxResults: number;
  readonly nextToken?: string;
  /**
   * `insight`: only Insights events on management events (LookupEvents, spec §4.1); `dataInsight`:
   * only Insights events on data events (ListInsightsData, spec §8.1); absent: only management events.
   */
  readonly eventCategory?: "insight" | "dataInsight";
  /**
   * True when the caller omitted StartTime / EndTime and the API layer filled in the default
   * (now − 90 days / now). Defaulted bounds move between the pages of one pagination, so the
   * nextToken check compares "defaulted" instead of the value.
   */
  readonly startTimeDefaulted?: boolean;
  readonly endTimeDefaulted?: boolean;
}

export interface LookupResource {
  ResourceType?: string;
  ResourceName?: string;
}

/** One `Event` of the LookupEvents response (spec §4.2), EventTime in epoch seconds. */
export interface LookupEvent {
  EventId: string;
  EventName: string;
  ReadOnly?: string;
  AccessKeyId?: string;
  EventTime: number;
  EventSource: string;
  Username?: string;
  Resources: LookupResource[];
  CloudTrailEvent: string;
}

export interface LookupResult {
  readonly events: LookupEvent[];
  readonly nextToken?: string;
}

/** Thrown for a token that is malformed or was issued for other parameters. */
export class InvalidNextTokenError extends Error {
  override readonly name = "InvalidNextTokenError";
}

/** What one retention pass removed. */
export interface PruneResult {
  /** Whole time partitions (days) dropped at once; 0 for a backend that deletes row by row. */
  readonly partitionsDropped: number;
  /** Index entries deleted, those of the dropped partitions included. */
  readonly postingsDeleted: number;
}

/**
 * The event-history index: fed from the journal by the backend itself (it owns its cursor, which it
 * commits with what it indexed), read by LookupEvents, kept to the retention window.
 */
export interface EventHistory {
  /**
   * Events matching every attribute, in the query's account, region and category, with an eventTime
   * (seconds) inside the inclusive bounds; newest first (eventTime, then journal seq); at most
   * `maxResults`, with a next token while more may match. Rejects with InvalidNextTokenError for a
   * token that is malformed or was issued for other parameters (MaxResults aside).
   */
  lookup(query: LookupQuery): Promise<LookupResult>;
  /** Highest journal seq the index has applied durably; 0 when none. */
  cursor(): number;
  /**
   * Read-your-writes: resolves once the journal entries up to `seq` are visible to lookup(), or after
   * `timeoutMs` (a lagging index must not hang the API). Never rejects.
   */
  waitFor(seq: number, timeoutMs: number): Promise<void>;
  /** Retention: deletes the events whose eventTime is older than the retention window (the server runs it hourly). */
  prune(): Promise<PruneResult>;
  /** Stops indexing after the batch in flight and releases the index; nothing may be called after. */
  close(): Promise<void>;
}
