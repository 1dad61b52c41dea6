/** Injected time source, so tests and simulations can control time. */
export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

/** Formats a time as CloudTrail writes eventTime: UTC, no fractional seconds. */
export function toEventTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
