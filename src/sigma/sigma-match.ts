/** A record a match names. */
export interface MatchedEvent {
  readonly eventID: string;
  readonly eventTime: string;
}

/**
 * One match: a detection rule on a record, or a correlation rule on a group of records (then
 * `eventID`/`eventTime` are those of the record that completed it and `events` lists the records
 * it counted, oldest first, at most CORRELATION_EVENTS_MAX).
 */
export interface SigmaMatch extends MatchedEvent {
  readonly ruleId: string;
  readonly title: string;
  readonly level: string;
  readonly kind: "detection" | "correlation";
  readonly events?: readonly MatchedEvent[];
  /** Correlation: the group-by fields and the values of the group that matched. */
  readonly groupBy?: Readonly<Record<string, string>>;
}

/** The records a correlation match lists at most (the last ones). */
export const CORRELATION_EVENTS_MAX = 20;

export function matchedEventOf(record: unknown): MatchedEvent {
  const fields = (typeof record === "object" && record !== null ? record : {}) as Record<string, unknown>;
  return {
    eventID: typeof fields["eventID"] === "string" ? fields["eventID"] : "",
    eventTime: typeof fields["eventTime"] === "string" ? fields["eventTime"] : "",
  };
}

function orderKey(record: unknown): { ms: number; eventID: string } {
  const { eventID, eventTime } = matchedEventOf(record);
  const ms = Date.parse(eventTime);
  return { ms: Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms, eventID };
}

/**
 * Records sorted as correlations must see them: by eventTime, then eventID, so that two runs over
 * the same records (files, or Lake rows) give the same matches; records without a time last.
 */
export function inEventTimeOrder<T>(records: readonly T[]): T[] {
  return records
    .map((record) => ({ record, key: orderKey(record) }))
    .sort((a, b) =>
      a.key.ms !== b.key.ms
        ? a.key.ms < b.key.ms
          ? -1
          : 1
        : a.key.eventID === b.key.eventID
          ? 0
          : a.key.eventID < b.key.eventID
            ? -1
            : 1,
    )
    .map(({ record }) => record);
}
