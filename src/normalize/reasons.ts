/**
 * The closed catalogue of reasons an ingested record is rejected. The ingest API returns the code as
 * `failed[].errorCode` and the filled-in template as `failed[].message`, so every template says what
 * the caller must change. Adding a code here is an API change: document it in
 * docs/reference/ingest-rules.md (a test checks that every code appears there).
 */
export const REJECTION_REASONS = {
  not_an_object: {
    template: 'Each event must be a JSON object like {"eventTime": ..., "eventSource": ...}; got {got}.',
  },
  not_json_serializable: {
    template: "The event cannot be written as JSON ({detail}); send plain JSON values without cycles or BigInts.",
  },
  nesting_too_deep: {
    template: "The event nests objects/arrays deeper than {limit} levels; flatten it or move the data into a string.",
  },
  event_too_large: {
    template: "The event is {size} bytes as JSON; CloudTrail events are capped at {limit} bytes. Shrink or split it.",
  },
  missing_field: {
    template: "Required field {field} is missing; {hint}.",
  },
  invalid_field_type: {
    template: "Field {field} must be {expected}; got {got}.",
  },
  invalid_field_value: {
    template: "Field {field} {problem}.",
  },
  field_too_long: {
    template: "Field {field} is {size} characters; the limit is {limit}. Send a shorter value.",
  },
  unusable_identifier: {
    template:
      "Field {field} {problem}; Cairn files records by account and region (trail log-file keys, event history), so send the plain value, e.g. us-east-1 or 123456789012.",
  },
  invalid_event_time: {
    template:
      "eventTime {value} is not a timestamp; send UTC like 2023-07-19T21:33:41Z (RFC 3339 with fractions or offsets, or 'YYYY-MM-DD HH:MM:SS', is also accepted).",
  },
  event_time_in_future: {
    template:
      "eventTime {value} is more than {limit} after the time Cairn received it ({receivedAt}); check the sender's clock.",
  },
} as const satisfies Record<string, { template: string }>;

export type RejectionCode = keyof typeof REJECTION_REASONS;

/** A rejection as the pipeline returns it and the ingest API reports it. */
export interface Rejection {
  ok: false;
  errorCode: RejectionCode;
  message: string;
}

/** Every code, for tests and docs checks. */
export const REJECTION_CODES = Object.keys(REJECTION_REASONS) as RejectionCode[];

/**
 * Builds a rejection, filling `{name}` placeholders from `params`. Unfilled placeholders stay visible
 * rather than disappearing, so a missing parameter shows up in tests instead of as a vague message.
 */
export function reject(code: RejectionCode, params: Readonly<Record<string, string | number>> = {}): Rejection {
  const message = REJECTION_REASONS[code].template.replace(/\{(\w+)\}/g, (placeholder, name: string) => {
    const value = params[name];
    return value === undefined ? placeholder : String(value);
  });
  return { ok: false, errorCode: code, message };
}

/** Describes a JSON value's type for messages ("a string", "an array", "null"). */
export function describeJsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return "a string";
  if (typeof value === "number") return "a number";
  if (typeof value === "boolean") return "a boolean";
  return typeof value;
}
