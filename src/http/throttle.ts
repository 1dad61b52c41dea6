import type { Clock } from "../lib/clock.js";
import { ApiError } from "../lib/api-error.js";

/**
 * A token bucket per key (account/region), for operators who want AWS's LookupEvents cap (2 TPS).
 * Off by default: a self-hosted history has no reason to throttle its owner.
 */
export class Throttle {
  private readonly buckets = new Map<string, { tokens: number; refilledAtMs: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly clock: Clock,
    private readonly burst: number = Math.max(1, ratePerSecond),
  ) {}

  take(key: string): void {
    const nowMs = this.clock.nowMs();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, refilledAtMs: nowMs };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((nowMs - bucket.refilledAtMs) / 1000) * this.ratePerSecond);
    bucket.refilledAtMs = nowMs;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) throw new ApiError("ThrottlingException", "Rate exceeded");
    bucket.tokens -= 1;
  }
}
