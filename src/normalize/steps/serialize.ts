/**
 * Serialisation guards: the record must be writable as JSON, fit CloudTrail's event size cap
 * (spec §1.2) and nest no deeper than Cairn's limit.
 */
import { reject, type Rejection } from "../reasons.js";
import { SIZE_LIMITS } from "../size-limits.js";

/** CloudTrail's whole-event cap since eventVersion 1.05 (spec §1.2). */
const EVENT_BYTES_MAX = 256 * 1024;

/** Real records nest at most ~11 levels (samples README); 32 leaves room and stops hostile input. */
const NESTING_DEPTH_MAX = 32;

/**
 * JSON this short (in UTF-16 units) is under 28 KB of UTF-8 whatever it holds (3 bytes a unit at
 * most), below every limit its size is compared with (the 256 KB cap here, size-limits.ts's smallest
 * member limit): no need to count its bytes.
 */
const SURELY_SMALL_UNITS = Math.floor(SIZE_LIMITS.detailBytes / 3);

/** `bytesAtMost`: json's UTF-8 size, or for short JSON the bound of 3 bytes a unit (≤ 28 KB). */
export type SerializeResult = { ok: true; json: string; bytesAtMost: number } | Rejection;

/** Compact JSON of `record`, rejected when unserialisable, too large or too deep. */
export function serializeRecord(record: Readonly<Record<string, unknown>>): SerializeResult {
  if (nestingExceeds(record, NESTING_DEPTH_MAX)) return reject("nesting_too_deep", { limit: NESTING_DEPTH_MAX });
  let json: string;
  try {
    json = JSON.stringify(record);
  } catch (error) {
    // Depth and cycles were ruled out above; what is left is a TypeError for BigInt and the like.
    return reject("not_json_serializable", {
      detail: error instanceof Error ? (error.message.split("\n")[0] ?? "") : "unknown",
    });
  }
  const bytesAtMost = json.length <= SURELY_SMALL_UNITS ? json.length * 3 : utf8Length(json);
  if (bytesAtMost > EVENT_BYTES_MAX) return reject("event_too_large", { size: bytesAtMost, limit: EVENT_BYTES_MAX });
  return { ok: true, json, bytesAtMost };
}

/** UTF-8 length of a string, as the size limits are defined in bytes. */
function utf8Length(json: string): number {
  return Buffer.byteLength(json, "utf8");
}

/**
 * True when `value` nests objects/arrays more than `max` levels (the record itself is level 1). A
 * walk of the object tree, not of the JSON text: it skips strings for free (~0.1 µs per record,
 * against ~3 µs to scan the text), and it stops at the limit, so cycles and hostile depth end here
 * instead of in a stack overflow.
 */
function nestingExceeds(value: object, max: number): boolean {
  if (max <= 0) return true;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) {
      if (typeof item === "object" && item !== null && nestingExceeds(item, max - 1)) return true;
    }
    return false;
  }
  for (const key in value) {
    const member: unknown = (value as Record<string, unknown>)[key];
    if (typeof member === "object" && member !== null && nestingExceeds(member, max - 1)) return true;
  }
  return false;
}
