import { createHash } from "node:crypto";

/** A target's RetryPolicy (PutTargets), with EventBridge's defaults filled in. */
export interface RetryPolicy {
  /** 0–185; retries after the first attempt. */
  readonly maximumRetryAttempts: number;
  /** 60–86400; how long after its first attempt an event may still be tried. */
  readonly maximumEventAgeSeconds: number;
}

/** EventBridge's defaults: 185 retries over 24 hours. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86_400 };

/** The first retry waits about a second; each doubles, up to ten minutes. */
const BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 600_000;

/** Where an event's delivery to one target stands, as a consumer keeps it across restarts. */
export interface DeliveryAttempts {
  /** When the first attempt was made (epoch ms). */
  readonly firstAttemptAtMs: number;
  /** Attempts made so far, the first included (≥ 1). */
  readonly attemptsMade: number;
  /**
   * Stable across restarts and different per event and target (e.g. `<ruleArn>|<targetId>|<eventId>`):
   * the jitter is derived from it, so the same schedule is computed again after a restart.
   */
  readonly jitterKey: string;
  /** The earliest time a `Retry-After` answer allows the next attempt (epoch ms), when one was given. */
  readonly notBeforeMs?: number;
}

/** Why a consumer stops trying an event. */
export type GiveUpReason = "retry-attempts-exhausted" | "maximum-event-age-reached";

export type NextAttempt =
  { readonly retry: true; readonly atMs: number } | { readonly retry: false; readonly reason: GiveUpReason };

/** A fraction in [0, 1) drawn from the key and the attempt number: random-looking, yet the same every time. */
function jitterFraction(key: string, attempt: number): number {
  const digest = createHash("sha256").update(`${key}#${attempt}`).digest();
  return digest.readUInt32BE(0) / 0x1_0000_0000;
}

/**
 * The wait before retry number `retry` (1-based): exponential backoff with "equal jitter", half
 * the capped exponential delay plus a random part of the other half, so retries of many events
 * failing together spread out instead of arriving in waves.
 */
export function retryDelayMs(retry: number, jitterKey: string): number {
  const capped = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(retry - 1, 30));
  return Math.round(capped / 2 + (capped / 2) * jitterFraction(jitterKey, retry));
}

/**
 * When to make the next attempt, or why not to: the schedule is anchored to the first attempt
 * (attempt n+1 is due at the first attempt plus the first n delays), so it is the same whenever it
 * is computed, after a restart too, and a consumer that fell behind catches up instead of
 * stretching every wait. The consumer gives up once `maximumRetryAttempts` retries were made or
 * when the next attempt would fall after the event's maximum age. A `Retry-After` wait that is
 * longer than the schedule's is honoured (EventBridge takes "the more conservative value").
 */
export function nextAttempt(attempts: DeliveryAttempts, policy: RetryPolicy = DEFAULT_RETRY_POLICY): NextAttempt {
  const retriesMade = attempts.attemptsMade - 1;
  if (retriesMade >= policy.maximumRetryAttempts) return { retry: false, reason: "retry-attempts-exhausted" };
  let dueMs = attempts.firstAttemptAtMs;
  for (let retry = 1; retry <= retriesMade + 1; retry++) dueMs += retryDelayMs(retry, attempts.jitterKey);
  const atMs = Math.max(dueMs, attempts.notBeforeMs ?? dueMs);
  if (atMs > attempts.firstAttemptAtMs + policy.maximumEventAgeSeconds * 1_000) {
    return { retry: false, reason: "maximum-event-age-reached" };
  }
  return { retry: true, atMs };
}

/**
 * The earliest next attempt a `Retry-After` header allows (epoch ms), undefined when there is no
 * usable header, or "stop" when its value is negative (EventBridge then stops retrying the event).
 */
export function retryAfterNotBefore(header: string | null | undefined, nowMs: number): number | "stop" | undefined {
  if (header === null || header === undefined || header.trim() === "") return undefined;
  const text = header.trim();
  if (/^-?\d+$/.test(text)) {
    const seconds = Number(text);
    return seconds < 0 ? "stop" : nowMs + seconds * 1_000;
  }
  const dateMs = Date.parse(text);
  return Number.isNaN(dateMs) ? undefined : Math.max(nowMs, dateMs);
}
