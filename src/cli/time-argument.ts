const RELATIVE_UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a `--start-time`/`--end-time` value: ISO-8601 (`2024-05-01T12:00:00Z`), epoch seconds
 * (`1714564800`, as the AWS CLI accepts), `now`, or a time relative to now (`-15m`, `-2h`, `-7d`,
 * `-30s`). Throws with the accepted forms when the text is none of these.
 *
 * @example
 * parseTimeArgument("-2h", Date.now()); // two hours ago
 */
export function parseTimeArgument(text: string, nowMs: number): Date {
  const trimmed = text.trim();
  if (trimmed === "now") return new Date(nowMs);
  const relative = /^-(\d+)([smhd])$/.exec(trimmed);
  if (relative) return new Date(nowMs - Number(relative[1]) * (RELATIVE_UNIT_MS[relative[2] ?? "s"] ?? 1000));
  if (/^\d+(\.\d+)?$/.test(trimmed)) return new Date(Number(trimmed) * 1000);
  // Date.parse accepts many loose forms; insist on something that starts like an ISO date.
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const ms = Date.parse(trimmed);
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  throw new Error(
    `must be ISO-8601 (2024-05-01T12:00:00Z), epoch seconds, "now", or relative like -15m, -2h, -7d (got ${JSON.stringify(text)})`,
  );
}
