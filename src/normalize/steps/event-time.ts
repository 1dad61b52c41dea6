/**
 * eventTime parsing. CloudTrail writes `YYYY-MM-DDTHH:MM:SSZ` (UTC, no fractions, spec §1.2); real
 * exports also carry RFC 3339 with fractions or offsets and SQL-style `YYYY-MM-DD HH:MM:SS[.fff…]`
 * (Panther), so those are accepted and rewritten to CloudTrail's form.
 */
import { toEventTime } from "../../lib/clock.js";
import { describeJsonType, reject, type Rejection } from "../reasons.js";

/** Clock skew tolerated before a future eventTime is treated as a sender bug. */
const EVENT_TIME_FUTURE_TOLERANCE_MS = 24 * 60 * 60 * 1000;

/**
 * Fields that carry the event time when a pipeline moved it out of eventTime: Logstash's date filter
 * (OTRF Mordor data) sets `@timestamp` and drops eventTime; Panther keeps it in `p_event_time`.
 */
const EVENT_TIME_FALLBACK_FIELDS = ["@timestamp", "p_event_time"] as const;

const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const ACCEPTED = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;
const MAX_TIME_MS = 253402300799000; // 9999-12-31T23:59:59Z

export type EventTimeResult = { ok: true; eventTime: string; eventTimeMs: number } | Rejection;

/**
 * Parses an accepted time string to epoch ms (fractions truncated: CloudTrail has second precision),
 * or returns undefined. A string without zone is read as UTC, as the SQL-style exports mean it.
 */
function parseEventTimeMs(text: string): number | undefined {
  const match = ACCEPTED.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const localMs = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 2023-02-30 over to March; a changed day means the date does not exist.
  if (new Date(localMs).getUTCDate() !== day) return undefined;
  const offsetMs = offsetToMs(match[8], match[9], match[10]);
  if (offsetMs === undefined) return undefined;
  const ms = localMs - offsetMs;
  return ms >= 0 && ms <= MAX_TIME_MS ? ms : undefined;
}

function offsetToMs(
  sign: string | undefined,
  hours: string | undefined,
  minutes: string | undefined,
): number | undefined {
  if (sign === undefined || hours === undefined || minutes === undefined) return 0;
  const h = Number(hours);
  const m = Number(minutes);
  if (h > 23 || m > 59) return undefined;
  return (sign === "-" ? -1 : 1) * (h * 60 + m) * 60_000;
}

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
  const eventTimeMs = parseEventTimeMs(value);
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
