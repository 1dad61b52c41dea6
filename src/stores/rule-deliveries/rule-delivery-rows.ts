import type { DeliveryFailureRecord, DeliveryOrigin, PendingDelivery, StoredFailure } from "./rule-delivery-store.js";

/** A queued delivery as both backends store it (numbers may come back as strings from PostgreSQL). */
export interface PendingRow {
  rule_arn: string;
  target_id: string;
  origin: string;
  seq: number | string;
  account_id: string;
  first_attempt_at_ms: number | string;
  attempts_made: number;
  next_attempt_at_ms: number | string;
  last_error: string | null;
  last_http_status: number | null;
  last_attempt_at_ms: number | string | null;
  event: string | null;
}

export interface FailureRow {
  id: number | string;
  record: string;
}

export function pendingOfRow(row: PendingRow): PendingDelivery {
  return {
    ruleArn: row.rule_arn,
    targetId: row.target_id,
    origin: originOf(row.origin),
    seq: Number(row.seq),
    accountId: row.account_id,
    firstAttemptAtMs: Number(row.first_attempt_at_ms),
    attemptsMade: row.attempts_made,
    nextAttemptAtMs: Number(row.next_attempt_at_ms),
    ...(row.last_error !== null ? { lastError: row.last_error } : {}),
    ...(row.last_http_status !== null ? { lastHttpStatus: row.last_http_status } : {}),
    ...(row.last_attempt_at_ms !== null ? { lastAttemptAtMs: Number(row.last_attempt_at_ms) } : {}),
    ...(row.event !== null ? { event: row.event } : {}),
  };
}

function originOf(text: string): DeliveryOrigin {
  if (text === "journal" || text === "sigma") return text;
  throw new Error(`A queued rule delivery has an unknown origin (${JSON.stringify(text)}): written by a newer Cairn?`);
}

/** The columns of a queued delivery, in the order both backends' INSERT statements name them. */
export function pendingValues(delivery: PendingDelivery): unknown[] {
  return [
    delivery.ruleArn,
    delivery.targetId,
    delivery.origin,
    delivery.seq,
    delivery.accountId,
    delivery.firstAttemptAtMs,
    delivery.attemptsMade,
    delivery.nextAttemptAtMs,
    delivery.lastError ?? null,
    delivery.lastHttpStatus ?? null,
    delivery.lastAttemptAtMs ?? null,
    delivery.event ?? null,
  ];
}

export const PENDING_COLUMNS =
  "rule_arn, target_id, origin, seq, account_id, first_attempt_at_ms, attempts_made, next_attempt_at_ms, last_error, last_http_status, last_attempt_at_ms, event";

export function failureOfRow(row: FailureRow): StoredFailure {
  return { ...(JSON.parse(row.record) as DeliveryFailureRecord), id: Number(row.id) };
}

/** The failure as kept: the record's own members, nothing else (so a listing returns what was given). */
export function failureRecordText(failure: DeliveryFailureRecord): string {
  return JSON.stringify(failure);
}
