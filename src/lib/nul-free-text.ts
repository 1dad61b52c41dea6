/**
 * A string with each NUL replaced by U+FFFD: PostgreSQL text and JSONB cannot hold NUL, which a
 * record's fields or an error message may carry, and both backends must keep the same text.
 */
export function nulFree(value: string): string {
  return value.replaceAll("\u0000", "\uFFFD");
}
