/**
 * eventTime parsing. CloudTrail writes `YYYY-MM-DDTHH:MM:SSZ` (UTC, no fractions, spec §1.2); real
 * exports also carry RFC 3339 with fractions or offsets and SQL-style `YYYY-MM-DD HH:MM:SS[.fff…]`
 * (Panther), so those are accepted and rewritten to CloudTrail's form.
 */
import { toEventTime } from "../../lib/clock.js";
import { parseIsoDateTime } from "../../lib/iso-date-time.js";
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
