import { isPlainObject } from "../lib/plain-object.js";
import type { Condition, ValueTest } from "./conditions.js";
import { refusePattern } from "./pattern-error.js";
import { compileWildcard } from "./wildcard.js";

type SetKind = "equals-ignore-case" | "prefix" | "suffix" | "wildcard";
const SET_KINDS = new Set<string>(["equals-ignore-case", "prefix", "suffix", "wildcard"]);
const SHAPE = "Value of anything-but must be an array or single string/number value.";

/** Why EventBridge refuses a non-string member of an `anything-but` set of that kind. */
function notAString(kind: SetKind): string {
  if (kind === "equals-ignore-case") {
    return "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.";
  }
  return kind === "wildcard"
    ? "wildcard match pattern must be a string"
    : "prefix/suffix match pattern must be a string";
}

function setMember(kind: SetKind, value: unknown): ValueTest {
  if (typeof value !== "string") refusePattern(notAString(kind));
  if ((kind === "prefix" || kind === "suffix") && value === "") refusePattern("Null prefix/suffix not allowed");
  if (kind === "wildcard") return { kind, wildcard: compileWildcard(value) };
  if (kind === "equals-ignore-case") return { kind, value };
  return { kind, value, ignoreCase: false };
}

/** `{"anything-but": {"prefix" | "suffix" | "equals-ignore-case" | "wildcard": value or list}}`. */
function compileSet(operand: Record<string, unknown>): Condition {
  const entries = Object.entries(operand);
  if (entries.length === 0) refusePattern("Anything-But expression name not found");
  const [kind, value] = entries[0]!;
  if (!SET_KINDS.has(kind)) refusePattern(`Unsupported anything-but pattern: ${kind}`);
  if (!Array.isArray(value) && typeof value !== "string" && typeof value !== "number") refusePattern(SHAPE);
  const members: unknown[] = Array.isArray(value) ? value : [value];
  const excluded = members.map((member) => setMember(kind as SetKind, member));
  if (entries.length > 1) refusePattern("Too many elements in numeric expression");
  return { kind: "anything-but", excluded };
}

/** A plain list: all strings or all numbers. */
function compileList(values: unknown[]): Condition {
  const excluded = values.map((value): ValueTest => {
    if (typeof value === "string") return { kind: "exact-string", value };
    if (typeof value === "number") return { kind: "exact-number", value };
    return refusePattern("Inside anything but list, start|null|boolean is not supported.");
  });
  const kinds = new Set(excluded.map((test) => test.kind));
  if (kinds.size !== 1) {
    refusePattern("Inside anything but list, either all values are number or string, mixed type is not supported");
  }
  return { kind: "anything-but", excluded };
}

/**
 * `anything-but`: a string or number, a list of either, or a set of prefixes, suffixes,
 * case-insensitive values or wildcards; the field matches when a value of it matches none of them.
 */
export function compileAnythingBut(operand: unknown): Condition {
  if (isPlainObject(operand)) return compileSet(operand);
  if (Array.isArray(operand)) return compileList(operand);
  if (typeof operand === "string")
    return { kind: "anything-but", excluded: [{ kind: "exact-string", value: operand }] };
  if (typeof operand === "number")
    return { kind: "anything-but", excluded: [{ kind: "exact-number", value: operand }] };
  return refusePattern(SHAPE);
}
