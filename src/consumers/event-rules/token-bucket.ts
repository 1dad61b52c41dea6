/**
 * An API destination's InvocationRateLimitPerSecond as a token bucket: it holds at most one
 * second's worth of invocations and refills continuously, so a quiet destination may take a burst
 * of `ratePerSecond` calls at once and a busy one gets them evenly spread.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAtMs: number;

  constructor(
    readonly ratePerSecond: number,
    nowMs: number,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError("A rate limit must be positive.");
    this.tokens = ratePerSecond;
    this.updatedAtMs = nowMs;
  }

  private refill(nowMs: number): void {
    const elapsedMs = Math.max(0, nowMs - this.updatedAtMs);
    this.tokens = Math.min(this.ratePerSecond, this.tokens + (elapsedMs * this.ratePerSecond) / 1_000);
    this.updatedAtMs = Math.max(this.updatedAtMs, nowMs);
  }

  /**
   * Takes one invocation's token and answers 0, or, when none is left, takes nothing and answers
   * how many milliseconds to wait before asking again.
   */
  take(nowMs: number): number {
    this.refill(nowMs);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1_000) / this.ratePerSecond);
  }
}
