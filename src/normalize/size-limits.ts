/**
 * CloudTrail's per-field size limits (spec §1.7). Strings over 1 KB are truncated (with "...", as
 * CloudTrail does); objects over their
 * limit are replaced by `{"omitted": true, "originalSize": <bytes>}` — CloudTrail documents
 * `omitted: true`, and `originalSize` is Cairn's addition so readers know what was lost.
 */
export const SIZE_LIMITS = {
  /** UTF-8 bytes kept of userAgent, errorCode, errorMessage, requestID. */
  stringBytes: 1024,
  /** requestParameters, responseElements, serviceEventDetails. */
  payloadBytes: 100 * 1024,
  /** additionalEventData, edgeDeviceDetails. */
  detailBytes: 28 * 1024,
} as const;

const TRUNCATED_STRING_FIELDS = ["userAgent", "errorCode", "errorMessage", "requestID"] as const;
const OBJECT_LIMITS: ReadonlyArray<readonly [field: string, limitBytes: number]> = [
  ["requestParameters", SIZE_LIMITS.payloadBytes],
  ["responseElements", SIZE_LIMITS.payloadBytes],
  ["serviceEventDetails", SIZE_LIMITS.payloadBytes],
  ["additionalEventData", SIZE_LIMITS.detailBytes],
  ["edgeDeviceDetails", SIZE_LIMITS.detailBytes],
];

/** Longest string (in UTF-16 units) that cannot exceed `bytes` in UTF-8: 3 bytes per unit at most. */
function surelyFits(text: string, bytes: number): boolean {
  return text.length * 3 <= bytes;
}

/** CloudTrail marks a cut string with this suffix (seen on real 1,026-byte errorMessages). */
const TRUNCATION_SUFFIX = "...";

/**
 * Cuts `text` to at most `maxBytes` of UTF-8 without splitting a character. Plain byte cut, for
 * callers that need a hard bound; the record limits use truncateField.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (surelyFits(text, maxBytes)) return text;
  const encoded = Buffer.from(text, "utf8");
  if (encoded.length <= maxBytes) return text;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && ((encoded[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return encoded.toString("utf8", 0, end);
}

/**
 * CloudTrail's string-field truncation: over `maxBytes`, keep the first `maxBytes - 1` bytes and
 * append "..." (real records show 1,023 + 3 bytes). A value that already has that shape is left
 * alone, so normalising twice gives the same result.
 */
export function truncateField(text: string, maxBytes: number): string {
  if (surelyFits(text, maxBytes)) return text;
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes <= maxBytes) return text;
  const alreadyCut = bytes <= maxBytes - 1 + TRUNCATION_SUFFIX.length && text.endsWith(TRUNCATION_SUFFIX);
  return alreadyCut ? text : truncateUtf8(text, maxBytes - 1) + TRUNCATION_SUFFIX;
}

export interface SizeLimitOptions {
  /**
   * UTF-8 size of the whole record's JSON, or a bound of it, when the caller already has one. No field
   * can exceed the smallest object limit when the whole record is smaller, so the per-field work is
   * skipped.
   */
  serializedBytesAtMost?: number;
}

/**
 * Applies the §1.7 limits, returning the same object when nothing needed cutting and a new one
 * otherwise (the input is never mutated).
 */
export function applySizeLimits<T extends Record<string, unknown>>(record: T, options: SizeLimitOptions = {}): T {
  let copy: Record<string, unknown> | undefined;
  for (const field of TRUNCATED_STRING_FIELDS) {
    const value = record[field];
    if (typeof value !== "string") continue;
    const truncated = truncateField(value, SIZE_LIMITS.stringBytes);
    if (truncated !== value) {
      copy ??= { ...record };
      copy[field] = truncated;
    }
  }
  const bound = options.serializedBytesAtMost;
  const mayHaveLargeObject = bound === undefined || bound > SIZE_LIMITS.detailBytes;
  if (mayHaveLargeObject) {
    for (const [field, limitBytes] of OBJECT_LIMITS) {
      const value = record[field];
      if (typeof value !== "object" || value === null) continue;
      const originalSize = Buffer.byteLength(JSON.stringify(value), "utf8");
      if (originalSize <= limitBytes) continue;
      copy ??= { ...record };
      copy[field] = { omitted: true, originalSize };
    }
  }
  return (copy ?? record) as T;
}
