import type { GiveUpReason } from "./retry-schedule.js";

/**
 * Why a rule's consumer stopped delivering an event to a target: the retry policy ran out
 * (`GiveUpReason`), the endpoint answered with a status EventBridge does not retry
 * (`not-retryable`: 1xx, 3xx, 4xx other than 429; a negative Retry-After), or the target's
 * InputTemplate produced no valid JSON for this event (`input-transform-failed`, never retried).
 */
export type DeliveryFailureReason = GiveUpReason | "not-retryable" | "input-transform-failed";

/**
 * What a rule's consumer keeps when it gives up on one event for one target: EventBridge would
 * drop the event or send it to the target's dead-letter queue; Cairn keeps this record instead,
 * listable by the rule's owner, and moves its cursor on. It carries no part of the event or of
 * the request (no headers, no secrets, no body): the event is in the journal under `eventId`.
 * Times are ISO 8601 UTC.
 */
export interface DeliveryFailureRecord {
  /** The account that owns the rule; failures are listed per account like the rules themselves. */
  readonly accountId: string;
  readonly ruleArn: string;
  /** The target's `Id` within the rule. */
  readonly targetId: string;
  /** The target's `Arn`: the API destination's ARN. */
  readonly targetArn: string;
  /** The envelope's `id` (stable per record, so a re-delivery after a restart carries the same one). */
  readonly eventId: string;
  /** The CloudTrail record's `eventID` the envelope was built from. */
  readonly recordEventId: string;
  /** Journal sequence number of the record, to replay it once the endpoint is fixed. */
  readonly journalSeq: number;
  readonly reason: DeliveryFailureReason;
  /** Attempts made, the first included. */
  readonly attempts: number;
  /** The last HTTP status the endpoint answered, when it answered at all. */
  readonly lastHttpStatus?: number;
  /** One line: `HTTP 500`, `timed out after 5000 ms`, `ECONNREFUSED`…; never a response body or a header value. */
  readonly lastError: string;
  readonly firstAttemptTime: string;
  readonly lastAttemptTime: string;
  /** When the consumer gave up. */
  readonly failedTime: string;
}
