import { ApiError, type ApiErrorCode } from "../lib/api-error.js";

/**
 * Input readers for AWS JSON 1.1 members. A member of the wrong JSON type is a
 * SerializationException, as AWS's JSON services answer; range and enum checks belong to each operation
 * and use its modelled exceptions.
 */
function wrongType(member: string, expected: string): ApiError {
  return new ApiError("SerializationException", `Member '${member}' must be ${expected}.`);
}

export function optionalString(input: Record<string, unknown>, member: string): string | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw wrongType(member, "a string");
  return value;
}

export function optionalInteger(input: Record<string, unknown>, member: string): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value)) throw wrongType(member, "an integer");
  return value;
}

/** 9999-12-31T23:59:59.999Z: the last instant CloudTrail's timestamps (and eventTime) can name. */
const TIMESTAMP_MS_MAX = 253402300799999;

/**
 * Timestamps arrive as epoch seconds (int or float); ISO-8601 strings are accepted defensively (spec
 * §5.1). A number JSON can carry but no instant matches (1e20, a negative time) is a range error with
 * the operation's modelled code (`outOfRange`, e.g. InvalidTimeRangeException), not a type error.
 */
export function optionalTimestampMs(
  input: Record<string, unknown>,
  member: string,
  outOfRange: ApiErrorCode,
): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  let ms: number | undefined;
  if (typeof value === "number" && Number.isFinite(value)) ms = Math.round(value * 1000);
  else if (typeof value === "string" && Number.isFinite(Date.parse(value))) ms = Date.parse(value);
  if (ms === undefined) throw wrongType(member, "a timestamp (epoch seconds)");
  if (!(ms >= 0 && ms <= TIMESTAMP_MS_MAX)) {
    throw new ApiError(outOfRange, `${member} must be a time between 1970-01-01 and 9999-12-31 (epoch seconds).`);
  }
  return ms;
}

export function optionalList(input: Record<string, unknown>, member: string): unknown[] | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw wrongType(member, "a list");
  return value;
}
