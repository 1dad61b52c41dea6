import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_RETRY_POLICY,
  nextAttempt,
  retryAfterNotBefore,
  retryDelayMs,
} from "../../../src/consumers/event-rules/retry-schedule.js";

const FIRST = Date.parse("2026-12-01T10:00:00Z");
const KEY = "arn:aws:events:us-east-1:111122223333:rule/tampering|1|5b1e9a0e-0000-4000-8000-000000000001";

describe("EventBridge's retry schedule", () => {
  it("backs off exponentially with jitter: retry n waits between half and all of min(1 s × 2^(n-1), 10 min)", () => {
    for (let retry = 1; retry <= 185; retry++) {
      const capped = Math.min(600_000, 1_000 * 2 ** (retry - 1));
      const delay = retryDelayMs(retry, KEY);
      assert.ok(delay >= capped / 2 && delay <= capped, `retry ${retry}: ${delay}`);
    }
    // Jitter differs between events, so events failing together do not retry together.
    const delays = new Set(Array.from({ length: 20 }, (_, i) => retryDelayMs(12, `${KEY}-${i}`)));
    assert.ok(delays.size > 10);
  });

  it("is anchored to the first attempt and computed the same again (a restart resumes the same schedule)", () => {
    const third = nextAttempt({ firstAttemptAtMs: FIRST, attemptsMade: 3, jitterKey: KEY });
    assert.deepEqual(third, {
      retry: true,
      atMs: FIRST + retryDelayMs(1, KEY) + retryDelayMs(2, KEY) + retryDelayMs(3, KEY),
    });
    assert.deepEqual(nextAttempt({ firstAttemptAtMs: FIRST, attemptsMade: 3, jitterKey: KEY }), third);
    const first = nextAttempt({ firstAttemptAtMs: FIRST, attemptsMade: 1, jitterKey: KEY });
    assert.deepEqual(first, { retry: true, atMs: FIRST + retryDelayMs(1, KEY) });
  });

  it("with the defaults, retries at increasing times until 185 retries or 24 hours, whichever comes first", () => {
    for (const key of [KEY, "other-event", "a-third-one"]) {
      let previous = FIRST;
      let attemptsMade = 1;
      for (;;) {
        const next = nextAttempt({ firstAttemptAtMs: FIRST, attemptsMade, jitterKey: key });
        if (!next.retry) {
          if (next.reason === "retry-attempts-exhausted") assert.equal(attemptsMade, 186);
          else assert.ok(attemptsMade <= 186 && next.reason === "maximum-event-age-reached");
          break;
        }
        assert.ok(next.atMs > previous && next.atMs <= FIRST + 86_400_000);
        previous = next.atMs;
        attemptsMade++;
      }
      assert.ok(previous - FIRST > 12 * 3_600_000, "the default schedule spans most of a day");
    }
  });

  it("gives up when MaximumRetryAttempts is reached (0 means no retry at all)", () => {
    const policy = { maximumRetryAttempts: 2, maximumEventAgeSeconds: 86_400 };
    assert.equal(nextAttempt({ firstAttemptAtMs: FIRST, attemptsMade: 2, jitterKey: KEY }, policy).retry, true);
    assert.deepEqual(nextAttempt({ firstAttemptAtMs: FIRST, attemptsMade: 3, jitterKey: KEY }, policy), {
      retry: false,
      reason: "retry-attempts-exhausted",
    });
    const none = { maximumRetryAttempts: 0, maximumEventAgeSeconds: 86_400 };
    assert.deepEqual(nextAttempt({ firstAttemptAtMs: FIRST, attemptsMade: 1, jitterKey: KEY }, none), {
      retry: false,
      reason: "retry-attempts-exhausted",
    });
  });

  it("gives up when the next attempt would come after MaximumEventAgeInSeconds", () => {
    const policy = { maximumRetryAttempts: 185, maximumEventAgeSeconds: 60 };
    let attemptsMade = 1;
    let next = nextAttempt({ firstAttemptAtMs: FIRST, attemptsMade, jitterKey: KEY }, policy);
    while (next.retry) {
      assert.ok(next.atMs <= FIRST + 60_000);
      next = nextAttempt({ firstAttemptAtMs: FIRST, attemptsMade: ++attemptsMade, jitterKey: KEY }, policy);
    }
    assert.equal(next.reason, "maximum-event-age-reached");
    assert.ok(attemptsMade >= 5 && attemptsMade <= 8, `gave up after ${attemptsMade} attempts`);
  });

  it("honours a Retry-After later than the schedule, within the event's age", () => {
    const scheduled = FIRST + retryDelayMs(1, KEY);
    const later = scheduled + 30_000;
    assert.deepEqual(nextAttempt({ firstAttemptAtMs: FIRST, attemptsMade: 1, jitterKey: KEY, notBeforeMs: later }), {
      retry: true,
      atMs: later,
    });
    assert.deepEqual(nextAttempt({ firstAttemptAtMs: FIRST, attemptsMade: 1, jitterKey: KEY, notBeforeMs: FIRST }), {
      retry: true,
      atMs: scheduled,
    });
    const tooLate = FIRST + DEFAULT_RETRY_POLICY.maximumEventAgeSeconds * 1_000 + 1;
    assert.deepEqual(nextAttempt({ firstAttemptAtMs: FIRST, attemptsMade: 1, jitterKey: KEY, notBeforeMs: tooLate }), {
      retry: false,
      reason: "maximum-event-age-reached",
    });
  });

  it("reads Retry-After as seconds or an HTTP date; a negative value stops the retries", () => {
    const now = FIRST;
    assert.equal(retryAfterNotBefore("120", now), now + 120_000);
    assert.equal(retryAfterNotBefore(" 0 ", now), now);
    assert.equal(retryAfterNotBefore("-1", now), "stop");
    assert.equal(retryAfterNotBefore("Tue, 01 Dec 2026 10:05:00 GMT", now), now + 300_000);
    assert.equal(retryAfterNotBefore("Tue, 01 Dec 2026 09:00:00 GMT", now), now);
    assert.equal(retryAfterNotBefore("soon", now), undefined);
    assert.equal(retryAfterNotBefore(null, now), undefined);
  });
});
