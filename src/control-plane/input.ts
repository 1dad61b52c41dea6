import { ApiError } from "../lib/api-error.js";

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

/** Timestamps arrive as epoch seconds (int or float); ISO-8601 strings are accepted defensively (spec §5.1). */
export function optionalTimestampMs(input: Record<string, unknown>, member: string): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number" && Number.isFinite(value)) return Math.round(value * 1000);
  if (typeof value === "string") {
    const parsed = Date.parse(value);
    if (Number.isFinite(parsed)) return parsed;
  }
  throw wrongType(member, "a timestamp (epoch seconds)");
}

export function optionalList(input: Record<string, unknown>, member: string): unknown[] | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw wrongType(member, "a list");
  return value;
}
