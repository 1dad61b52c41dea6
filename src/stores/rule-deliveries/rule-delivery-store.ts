/**
 * What the EventBridge rule consumer owes its targets (docs/reference/events.md, "How targets are
 * invoked"): the consumer's journal cursor, the deliveries matched and not yet done, and the
 * failures it gave up on. `enqueue` writes a batch's matches and moves the cursor in one atomic
 * step, so a match is never lost between the journal and the store (a crash re-matches the batch;
 * a delivery already queued is not queued twice). test/contract/rule-delivery-store.suite.ts is the
 * contract, run per backend.
 */
export interface RuleDeliveryStore {
  /** Highest position of `origin` (journal seq, Sigma match id) whose matches are queued; 0 before the first. */
  cursor(origin: DeliveryOrigin): Promise<number>;
  /**
   * Queues `deliveries`, all of `origin` (one already queued under the same key is left as it is),
   * and sets that origin's cursor to `throughSeq` unless it is already further: all or nothing.
   */
  enqueue(deliveries: readonly PendingDelivery[], throughSeq: number, origin: DeliveryOrigin): Promise<void>;
  /** Deliveries due at `nowMs` (next attempt ≤ now), earliest first, at most `limit`. */
  due(nowMs: number, limit: number): Promise<PendingDelivery[]>;
  /** When the earliest queued delivery is due; undefined when none is queued. */
  nextDueAtMs(): Promise<number | undefined>;
  /** Removes delivered (or no longer wanted) deliveries; unknown keys are ignored. */
  remove(keys: readonly DeliveryKey[]): Promise<void>;
  /** Records a failed attempt and when to try again; false when the delivery is no longer queued. */
  retryLater(key: DeliveryKey, attempt: AttemptOutcome, nextAttemptAtMs: number): Promise<boolean>;
  /** Removes the delivery and keeps `failure` in one step; false (nothing kept) when it was not queued. */
  giveUp(key: DeliveryKey, failure: DeliveryFailureRecord): Promise<boolean>;
  /** The account's failures, oldest first, after `afterId`, at most `limit`; only `ruleArn`'s when given. */
  listFailures(accountId: string, page: FailurePage): Promise<StoredFailure[]>;
  /** Deletes failures kept before `beforeMs`; resolves to how many. */
  trimFailures(beforeMs: number): Promise<number>;
  /** The lowest journal seq a queued `journal` delivery names (journal retention keeps it); undefined when none. */
  oldestQueuedSeq(): Promise<number | undefined>;
  queuedCount(): Promise<number>;
  /** Releases the store's resources; closing again does nothing. Every other method rejects once closed. */
  close(): Promise<void>;
}

/**
 * Where a delivery's event comes from: a journal record (the event is built again from the journal
 * when it is sent, so the queue holds no copy of any record), or a live Sigma match (its event,
 * built once from the match and its record, is kept with the delivery).
 */
export type DeliveryOrigin = "journal" | "sigma";

/** One event for one target of one rule. */
export interface DeliveryKey {
  readonly ruleArn: string;
  readonly targetId: string;
  readonly origin: DeliveryOrigin;
  /** `journal`: the journal seq of the record the event is built from; `sigma`: the Sigma match's id. */
  readonly seq: number;
}

export interface PendingDelivery extends DeliveryKey {
  /** The rule's account: failures are listed per account. */
  readonly accountId: string;
  /** When the record was matched: the event's age (MaximumEventAgeInSeconds) counts from here. */
  readonly firstAttemptAtMs: number;
  readonly attemptsMade: number;
  readonly nextAttemptAtMs: number;
  readonly lastError?: string;
  readonly lastHttpStatus?: number;
  readonly lastAttemptAtMs?: number;
  /** `sigma`: the EventBridge event as JSON (at most 256 KB, as EventBridge sends no larger one). */
  readonly event?: string;
}

export interface AttemptOutcome {
  readonly attemptsMade: number;
  readonly attemptedAtMs: number;
  /** One line (`HTTP 503`, `timed out after 5000 ms`); never a body or a header value. */
  readonly error: string;
  readonly httpStatus?: number;
}

/**
 * Why the consumer stopped trying: the retry policy ran out, the endpoint answered with a status
 * EventBridge does not retry, the target's input transformer gave no valid JSON for this event, or
 * the target's API destination or connection no longer exists.
 */
export type DeliveryFailureReason =
  | "retry-attempts-exhausted"
  | "maximum-event-age-reached"
  | "not-retryable"
  | "input-transform-failed"
  | "target-unavailable";

/**
 * What is kept when the consumer gives up on one event for one target: EventBridge would drop it or
 * send it to a dead-letter queue; Cairn keeps this, listable by the rule's owner. It carries no part
 * of the event or of the request (no headers, no secrets, no body): the event is in the journal
 * under `journalSeq`. Times are ISO 8601 UTC.
 */
export interface DeliveryFailureRecord {
  readonly accountId: string;
  readonly ruleArn: string;
  readonly targetId: string;
  /** The target's `Arn`. */
  readonly targetArn: string;
  /** The envelope's `id` (stable per record, so a re-delivery after a restart carries the same one). */
  readonly eventId: string;
  /** The CloudTrail record's `eventID` (of a Sigma match: the record that made or completed it). */
  readonly recordEventId: string;
  /** The journal seq of the record a `journal` delivery's event was built from. */
  readonly journalSeq?: number;
  /** The Sigma match the event was made from, for a `sigma` delivery. */
  readonly sigmaMatchId?: number;
  readonly reason: DeliveryFailureReason;
  /** Attempts made, the first included. */
  readonly attempts: number;
  readonly lastHttpStatus?: number;
  readonly lastError: string;
  readonly firstAttemptTime: string;
  readonly lastAttemptTime: string;
  readonly failedTime: string;
}

export interface StoredFailure extends DeliveryFailureRecord {
  /** Grows with each failure kept: the position `afterId` pages on. */
  readonly id: number;
}

export interface FailurePage {
  readonly ruleArn?: string;
  readonly afterId?: number;
  readonly limit: number;
}

export function closedStoreError(): Error {
  return new Error("The rule delivery store is closed.");
}

/** enqueue() takes one origin's deliveries with that origin's cursor: a mix is a caller's bug. */
export function assertAllOf(origin: DeliveryOrigin, deliveries: readonly PendingDelivery[]): void {
  const stranger = deliveries.find((delivery) => delivery.origin !== origin);
  if (stranger !== undefined)
    throw new Error(`A ${stranger.origin} delivery was queued with the ${origin} cursor: nothing was queued.`);
}
