import { ApiError } from "../../lib/api-error.js";
import { isPlainObject } from "../../lib/plain-object.js";

/** A member's name as AWS's request validation writes it: lower camel case, nested with `.`. */
function fieldOf(member: string): string {
  return member
    .split(".")
    .map((part) => part.charAt(0).toLowerCase() + part.slice(1))
    .join(".");
}

/** `1 validation error detected: Value … at '<field>' failed to satisfy constraint: <constraint>`, as AWS words it. */
export function constraintError(member: string, value: unknown, constraint: string): ApiError {
  // A length error shows no value: the value is what is too long (AWS's own wording for EventPattern).
  const shown =
    value === null || value === undefined
      ? " null"
      : constraint.includes("length")
        ? ""
        : ` '${String(value).slice(0, 256)}'`;
  return new ApiError(
    "ValidationException",
    `1 validation error detected: Value${shown} at '${fieldOf(member)}' failed to satisfy constraint: ${constraint}`,
  );
}

/** The constraints of a string member of the events model: length, and the model's pattern. */
export interface StringShape {
  readonly min?: number;
  readonly max?: number;
  /** The model's pattern, anchored here; `patternText` is how AWS's message quotes it. */
  readonly pattern?: RegExp;
  readonly patternText?: string;
}

function checkedString(member: string, value: unknown, shape: StringShape): string {
  if (typeof value !== "string") throw new ApiError("SerializationException", `Member '${member}' must be a string.`);
  // No stored text can hold U+0000 (PostgreSQL refuses it), so neither backend is given one.
  if (value.includes("\u0000")) {
    throw new ApiError(
      "ValidationException",
      `1 validation error detected: Value at '${fieldOf(member)}' failed to satisfy constraint: Member must not contain the character U+0000`,
    );
  }
  if (shape.max !== undefined && value.length > shape.max) {
    throw constraintError(member, value, `Member must have length less than or equal to ${shape.max}`);
  }
  if (value.length < (shape.min ?? 0)) {
    throw constraintError(member, value, `Member must have length greater than or equal to ${shape.min}`);
  }
  if (shape.pattern !== undefined && !shape.pattern.test(value)) {
    throw constraintError(member, value, `Member must satisfy regular expression pattern: ${shape.patternText}`);
  }
  return value;
}

/**
 * A required string member, refused as EventBridge refuses it: a missing member is a
 * ValidationException worded as AWS's request validation words it (the member in lower camel
 * case), a member of another JSON type a SerializationException.
 */
export function requiredString(
  input: Record<string, unknown>,
  member: string,
  lengthMaxOrShape?: number | StringShape,
): string {
  const value = input[member.split(".").at(-1)!];
  if (value === undefined || value === null) {
    throw constraintError(member, null, "Member must not be null");
  }
  const shape = typeof lengthMaxOrShape === "number" ? { max: lengthMaxOrShape } : (lengthMaxOrShape ?? {});
  return checkedString(member, value, shape);
}

/** An optional string member: undefined when absent or null. */
export function optionalString(
  input: Record<string, unknown>,
  member: string,
  shape: StringShape = {},
): string | undefined {
  const value = input[member.split(".").at(-1)!];
  if (value === undefined || value === null) return undefined;
  return checkedString(member, value, shape);
}

/** One of an enum's values, or the model's enum constraint error. */
export function enumString<T extends string>(
  input: Record<string, unknown>,
  member: string,
  values: readonly T[],
  required: boolean,
): T | undefined {
  const value = required ? requiredString(input, member) : optionalString(input, member);
  if (value === undefined) return undefined;
  if (!(values as readonly string[]).includes(value)) {
    throw constraintError(member, value, `Member must satisfy enum value set: [${values.join(", ")}]`);
  }
  return value as T;
}

/** An optional integer member within the model's bounds. */
export function optionalInteger(
  input: Record<string, unknown>,
  member: string,
  bounds: { min?: number; max?: number },
): number | undefined {
  const value = input[member.split(".").at(-1)!];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new ApiError("SerializationException", `Member '${member}' must be an integer.`);
  }
  if (bounds.min !== undefined && value < bounds.min) {
    throw constraintError(member, value, `Member must have value greater than or equal to ${bounds.min}`);
  }
  if (bounds.max !== undefined && value > bounds.max) {
    throw constraintError(member, value, `Member must have value less than or equal to ${bounds.max}`);
  }
  return value;
}

/** An optional structure member (a JSON object), or a SerializationException. */
export function optionalObject(input: Record<string, unknown>, member: string): Record<string, unknown> | undefined {
  const value = input[member.split(".").at(-1)!];
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) throw new ApiError("SerializationException", `Member '${member}' must be an object.`);
  return value;
}

/** A required structure member. */
export function requiredObject(input: Record<string, unknown>, member: string): Record<string, unknown> {
  const value = optionalObject(input, member);
  if (value === undefined) throw constraintError(member, null, "Member must not be null");
  return value;
}

/** An optional list member, or a SerializationException. */
export function optionalList(input: Record<string, unknown>, member: string): unknown[] | undefined {
  const value = input[member.split(".").at(-1)!];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new ApiError("SerializationException", `Member '${member}' must be a list.`);
  return value as unknown[];
}

/** An optional string-to-string map member (HttpParameters' headers, InputPathsMap). */
export function optionalStringMap(
  input: Record<string, unknown>,
  member: string,
  entriesMax: number,
): Record<string, string> | undefined {
  const value = optionalObject(input, member);
  if (value === undefined) return undefined;
  const entries = Object.entries(value);
  if (entries.length > entriesMax) {
    throw constraintError(member, "…", `Member must have length less than or equal to ${entriesMax}`);
  }
  for (const [key, item] of entries) {
    if (typeof item !== "string")
      throw new ApiError("SerializationException", `Member '${member}.${key}' must be a string.`);
  }
  return value as Record<string, string>;
}

/** Resource names (rules, connections, API destinations, target ids): the model's `[\.\-_A-Za-z0-9]+`, 1–64. */
export const NAME_SHAPE: StringShape = {
  min: 1,
  max: 64,
  pattern: /^[.\-_A-Za-z0-9]+$/,
  patternText: "[\\.\\-_A-Za-z0-9]+",
};

/** `Limit` of the List operations (`LimitMax100`): 1–100; absent means 100. */
export function pageLimit(input: Record<string, unknown>): number {
  return optionalInteger(input, "Limit", { min: 1, max: 100 }) ?? 100;
}

/** NextToken: the last name of the previous page, base64url, checked to be a name of this listing. */
export function pageAfter(input: Record<string, unknown>): string | undefined {
  const token = optionalString(input, "NextToken", { min: 1, max: 2048 });
  if (token === undefined) return undefined;
  const after = /^[A-Za-z0-9_-]{1,200}$/.test(token) ? Buffer.from(token, "base64url").toString("utf8") : "";
  if (!NAME_SHAPE.pattern!.test(after) || after.length > 64) {
    throw new ApiError("ValidationException", "The nextToken is not valid.");
  }
  return after;
}

/** A page of `limit` items from `rows` (fetched as limit + 1), and the NextToken when there were more. */
export function pageOf<T>(
  rows: readonly T[],
  limit: number,
  nameOf: (row: T) => string,
): { items: T[]; next?: string } {
  const items = rows.slice(0, limit);
  if (rows.length <= limit) return { items };
  return { items, next: Buffer.from(nameOf(items.at(-1)!), "utf8").toString("base64url") };
}

/** Epoch seconds, as JSON 1.1 timestamps travel. */
export function epochSeconds(ms: number): number {
  return ms / 1000;
}
