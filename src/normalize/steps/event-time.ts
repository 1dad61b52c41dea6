/**
 * eventTime parsing. CloudTrail writes `YYYY-MM-DDTHH:MM:SSZ` (UTC, no fractions, spec §1.2); real
 * exports also carry RFC 3339 with fractions or offsets and SQL-style `YYYY-MM-DD HH:MM:SS[.fff…]`
 * (Panther), so those are accepted and rewritten to CloudTrail's form.
 */
import { toEventTime } from "../../lib/clock.js";
import { MAX_TIME_MS, parseIsoDateTime } from "../../lib/iso-date-time.js";
import { describeJsonType, reject, type Rejection } from "../reasons.js";

/** Clock skew tolerated before a future eventTime is treated as a sender bug. */
const EVENT_TIME_FUTURE_TOLERANCE_MS = 24 * 60 * 60 * 1000;

/**
 * Fields that carry the event time when a pipeline moved it out of eventTime: Logstash's date filter
 * (OTRF Mordor data) sets `@timestamp` and drops eventTime; Panther keeps it in `p_event_time`.
 */
const EVENT_TIME_FALLBACK_FIELDS = ["@timestamp", "p_event_time"] as const;

const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

export type EventTimeResult = { ok: true; eventTime: string; eventTimeMs: number } | Rejection;

/** Finds the event time (eventTime, else a documented fallback field) and normalises it. */
export function readEventTime(record: Readonly<Record<string, unknown>>, receivedAtMs: number): EventTimeResult {
  const source = pickTimeField(record);
  if (source === undefined) {
    return reject("missing_field", {
      field: "eventTime",
      hint: "send the time the request completed, in UTC, like 2023-07-19T21:33:41Z",
    });
  }
  const value = record[source];
  if (typeof value !== "string") {
    return reject("invalid_field_type", { field: source, expected: "a string", got: describeJsonType(value) });
  }
  // Fractions are dropped: CloudTrail has second precision.
  const eventTimeMs = parseIsoDateTime(value)?.ms;
  if (eventTimeMs === undefined) return reject("invalid_event_time", { value: JSON.stringify(value.slice(0, 64)) });
  if (eventTimeMs > receivedAtMs + EVENT_TIME_FUTURE_TOLERANCE_MS) {
    return reject("event_time_in_future", {
      value: JSON.stringify(value),
      limit: "24 hours",
      receivedAt: toEventTime(receivedAtMs),
    });
  }
  // The common case is already canonical; skip re-formatting it.
  const eventTime = CANONICAL.test(value) ? value : toEventTime(eventTimeMs);
  return { ok: true, eventTime, eventTimeMs };
}

function pickTimeField(record: Readonly<Record<string, unknown>>): string | undefined {
  if (record.eventTime !== undefined && record.eventTime !== null) return "eventTime";
  for (const field of EVENT_TIME_FALLBACK_FIELDS) {
    if (typeof record[field] === "string") return field;
  }
  return undefined;
}

/**
 * True exactly when readEventTime would accept `value`, given as eventTime, unchanged: CloudTrail's
 * own form (`YYYY-MM-DDTHH:MM:SSZ`), a real instant from 1970 to 9999, at most 24 hours after
 * receipt. The same arithmetic as parseIsoDateTime (Date.UTC, the day check, the range) on the digits
 * read in place, without its regex's eleven captures; any other form answers false, and the record
 * takes the general path.
 */
export function isCanonicalEventTime(value: string, receivedAtMs: number): boolean {
  if (value.length !== 20 || !CANONICAL.test(value)) return false;
  const digits = (from: number, count: number): number => {
    let n = 0;
    for (let i = from; i < from + count; i += 1) n = n * 10 + value.charCodeAt(i) - 48;
    return n;
  };
  const year = digits(0, 4);
  const month = digits(5, 2);
  const day = digits(8, 2);
  const hour = digits(11, 2);
  const minute = digits(14, 2);
  const second = digits(17, 2);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (new Date(ms).getUTCDate() !== day) return false;
  return ms >= 0 && ms <= MAX_TIME_MS && ms <= receivedAtMs + EVENT_TIME_FUTURE_TOLERANCE_MS;
}
