/**
 * Event history (spec §4): the LookupEvents read model. The embedded implementation is a journal
 * consumer backed by SQLite; another backend (PostgreSQL, …) implements the same interface.
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
  /** `insight`: return only Insights events (spec §4.1); absent: only management events. */
  readonly eventCategory?: "insight";
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

export interface EventHistory {
  lookup(query: LookupQuery): Promise<LookupResult>;
}
