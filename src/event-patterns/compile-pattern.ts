import { isPlainObject } from "../lib/plain-object.js";
import { compileAnythingBut } from "./compile-anything-but.js";
import { compileNumeric } from "./compile-numeric.js";
import type { CompiledPattern, Condition } from "./conditions.js";
import { compileCidr } from "./ip-range.js";
import { InvalidEventPatternError, refusePattern } from "./pattern-error.js";
import { compileWildcard } from "./wildcard.js";

const OR = "$or";
/**
 * How deep a pattern may nest, counting each object level, each `$or` and each segment of a dotted field name.
 * Compiling and matching recurse per level; EventBridge's real patterns nest a handful of levels, and
 * a 4,096-character pattern could otherwise nest 2,000 deep and exhaust the stack. Cairn's limit.
 */
const PATTERN_DEPTH_MAX = 100;
/** Operator names a field inside `$or` may not take (EventBridge reserves them there). */
const RESERVED_IN_OR = new Set([
  "exactly",
  "equals-ignore-case",
  "prefix",
  "suffix",
  "anything-but",
  "exists",
  "wildcard",
  "numeric",
  "cidr",
  "=",
  "<",
  "<=",
  ">",
  ">=",
]);

/**
 * Parses and validates an EventBridge event pattern (JSON text), refusing what EventBridge refuses
 * with its reason (InvalidEventPatternError). The compiled form is what `patternMatches` evaluates.
 * Compiling and matching recurse once per level of the pattern, so callers bound its length first
 * (the API refuses patterns over 4,096 characters, as EventBridge does).
 */
export function compileEventPattern(text: string): CompiledPattern {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidEventPatternError(error instanceof Error ? error.message : "The pattern is not valid JSON.");
  }
  if (!isPlainObject(parsed)) refusePattern("Filter is not an object");
  return compileObject(parsed, false, 0);
}

function compileObject(object: Record<string, unknown>, insideOr: boolean, depth: number): CompiledPattern {
  const entries = Object.entries(object);
  if (entries.length === 0) refusePattern("Empty objects are not allowed");
  const pattern = { leaves: [], nested: [], or: [] } as {
    leaves: Array<CompiledPattern["leaves"][number]>;
    nested: Array<CompiledPattern["nested"][number]>;
    or: Array<CompiledPattern["or"][number]>;
  };
  for (const [field, value] of entries) {
    if (field === OR) {
      pattern.or.push(compileOr(value, depth + 1));
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(field)) {
      refusePattern(`${field} is Ruler reserved fieldName which cannot be used inside ${OR}.`);
    }
    if (!isPlainObject(value) && !Array.isArray(value)) refusePattern(`"${field}" must be an object or an array`);
    // EventBridge matches on dotted paths: `"a.b": […]` is `"a": {"b": […]}` (match-pattern.ts expands events alike).
    const segments = field.split(".");
    if (depth + segments.length > PATTERN_DEPTH_MAX) {
      refusePattern(`Cairn refuses patterns nested deeper than ${PATTERN_DEPTH_MAX} levels`);
    }
    let inner: unknown = value;
    for (let i = segments.length - 1; i > 0; i--) inner = { [segments[i]!]: inner };
    const head = segments[0]!;
    if (isPlainObject(inner)) pattern.nested.push({ field: head, pattern: compileObject(inner, insideOr, depth + 1) });
    else pattern.leaves.push({ field: head, conditions: compileConditions(inner as unknown[]) });
  }
  return pattern;
}

function compileOr(value: unknown, depth: number): CompiledPattern[] {
  if (!Array.isArray(value)) refusePattern(`It must be an Array followed with ${OR}.`);
  const branches = value.map((branch) => {
    if (!isPlainObject(branch)) refusePattern(`Only JSON object is allowed in array of ${OR} relationship.`);
    return compileObject(branch, true, depth);
  });
  if (branches.length < 2) refusePattern(`There must have at least 2 Objects in ${OR} relationship.`);
  return branches;
}

function compileConditions(values: unknown[]): Condition[] {
  if (values.length === 0) refusePattern("Empty arrays are not allowed");
  return values.map((value): Condition => {
    if (typeof value === "string") return { kind: "exact-string", value };
    if (typeof value === "number") return { kind: "exact-number", value };
    if (typeof value === "boolean" || value === null) return { kind: "exact-literal", value };
    if (isPlainObject(value)) return compileOperator(value);
    return refusePattern("Match value must be String, number, true, false, or null");
  });
}

/** `{ "<operator>": operand }`: exactly one key. */
function compileOperator(expression: Record<string, unknown>): Condition {
  const entries = Object.entries(expression);
  if (entries.length === 0) refusePattern("Match expression name not found");
  const [name, operand] = entries[0]!;
  const condition = operatorCondition(name, operand);
  if (entries.length > 1) {
    refusePattern(
      name === "numeric" || name === "anything-but"
        ? "Too many elements in numeric expression"
        : "Only one key allowed in match expression",
    );
  }
  return condition;
}

function operatorCondition(name: string, operand: unknown): Condition {
  switch (name) {
    case "exactly":
      return { kind: "exact-string", value: stringOperand(operand, "exact match pattern must be a string") };
    case "prefix":
    case "suffix":
      return affixCondition(name, operand);
    case "equals-ignore-case":
      return {
        kind: "equals-ignore-case",
        value: stringOperand(operand, "equals-ignore-case match pattern must be a string"),
      };
    case "wildcard":
      return {
        kind: "wildcard",
        wildcard: compileWildcard(stringOperand(operand, "wildcard match pattern must be a string")),
      };
    case "numeric":
      return compileNumeric(operand);
    case "anything-but":
      return compileAnythingBut(operand);
    case "exists":
      if (typeof operand !== "boolean") refusePattern("exists match pattern must be either true or false.");
      return { kind: "exists", present: operand };
    case "cidr":
      // EventBridge's own wording for a cidr operand that is not a string.
      return { kind: "cidr", range: compileCidr(stringOperand(operand, "prefix match pattern must be a string")) };
    default:
      return refusePattern(`Unrecognized match type ${name}`);
  }
}

/** `prefix`/`suffix`: a string, or `{"equals-ignore-case": string}`. */
function affixCondition(name: "prefix" | "suffix", operand: unknown): Condition {
  if (isPlainObject(operand)) {
    const entries = Object.entries(operand);
    const label = name === "prefix" ? "Prefix" : "Suffix";
    if (entries.length === 0) refusePattern(`${label} expression name not found`);
    const [inner, value] = entries[0]!;
    if (inner !== "equals-ignore-case") refusePattern(`Unsupported ${name} pattern: ${inner}`);
    const text = stringOperand(value, "equals-ignore-case match pattern must be a string");
    if (entries.length > 1) refusePattern("Only one key allowed in match expression");
    return { kind: name, value: text, ignoreCase: true };
  }
  return { kind: name, value: stringOperand(operand, `${name} match pattern must be a string`), ignoreCase: false };
}

function stringOperand(operand: unknown, reason: string): string {
  if (typeof operand !== "string") refusePattern(reason);
  return operand;
}
