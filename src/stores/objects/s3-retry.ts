import type { S3ClientConfig } from "@aws-sdk/client-s3";
import { randomInt } from "node:crypto";
import { systemClock, type Clock } from "../../lib/clock.js";

type RetryStrategy = Extract<NonNullable<S3ClientConfig["retryStrategy"]>, { acquireInitialRetryToken: unknown }>;
type RetryToken = Awaited<ReturnType<RetryStrategy["acquireInitialRetryToken"]>>;
type RetryErrorInfo = Parameters<RetryStrategy["refreshRetryTokenForRetry"]>[1];

/** Attempts per call, the first included (the SDK's standard mode also makes 3). */
const ATTEMPTS_MAX = 3;
/** Full-jitter exponential back-off, as the SDK's standard mode: 100 ms base, 500 ms when throttled, 20 s cap. */
const DELAY_MS_BASE = 100;
const THROTTLED_DELAY_MS_BASE = 500;
const DELAY_MS_MAX = 20_000;
/** How far past its own back-off a `Retry-After` hint may push the next attempt (as the SDK). */
const RETRY_AFTER_MS_EXTRA_MAX = 5_000;

/**
 * The SDK's standard retries (throttling, 5xx, refused or reset connections) except for a request
 * that timed out (connect or idle timeout, CAIRN_S3_TIMEOUT_MS): a hung endpoint is reported to the
 * caller after one timeout instead of three, so GetTrailStatus shows `LatestDeliveryError` within
 * the timeout. The caller retries on its own schedule (trail delivery backs off from 1 s to 60 s),
 * on a fresh connection, as the SDK would have.
 */
export function hangAwareRetryStrategy(clock: Clock = systemClock): RetryStrategy {
  return {
    acquireInitialRetryToken: async () => retryToken(0),
    async refreshRetryTokenForRetry(previous: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
      const retries = previous.getRetryCount();
      if (retries + 1 >= ATTEMPTS_MAX || info.errorType === "CLIENT_ERROR" || isTimeout(info.error)) {
        // The SDK rethrows the request's own error when no token is given.
        throw new Error("No retry for this S3 request.");
      }
      const base = info.errorType === "THROTTLING" ? THROTTLED_DELAY_MS_BASE : DELAY_MS_BASE;
      // Jitter spreads the retries of many callers; any unpredictable source does.
      const backoff = randomInt(Math.min(DELAY_MS_MAX, base * 2 ** retries) + 1);
      const hinted = info.retryAfterHint instanceof Date ? info.retryAfterHint.getTime() - clock.nowMs() : 0;
      return retryToken(retries + 1, Math.max(backoff, Math.min(hinted, backoff + RETRY_AFTER_MS_EXTRA_MAX)));
    },
    recordSuccess: () => undefined,
  };
}

/** The Node HTTP handler's connect, idle and request timeouts all reject with a `TimeoutError`. */
export function isTimeout(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === "TimeoutError";
}

function retryToken(retries: number, delayMs = 0): RetryToken {
  return { getRetryCount: () => retries, getRetryDelay: () => delayMs };
}
