import { isPlainObject } from "../lib/plain-object.js";
import type { CompiledPattern, Condition, ValueTest } from "./conditions.js";
import { ipInRange } from "../lib/ip-address.js";
import { wildcardMatches } from "./wildcard.js";

type Leaf = string | number | boolean | null;

/** Arrays in an event stand for each of their elements, nested arrays too. */
function elementsOf(value: unknown, into: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const element of value) elementsOf(element, into);
  else if (value !== undefined) into.push(value);
  return into;
}

function isLeaf(value: unknown): value is Leaf {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

function fieldOf(object: Record<string, unknown> | undefined, field: string): unknown {
  return object !== undefined && Object.hasOwn(object, field) ? object[field] : undefined;
}

function lower(text: string): string {
  return text.toLowerCase();
}

function testMatches(test: ValueTest, leaf: Leaf): boolean {
  switch (test.kind) {
    case "exact-string":
    case "exact-number":
    case "exact-literal":
      return leaf === test.value;
    case "prefix":
      if (typeof leaf !== "string") return false;
      return test.ignoreCase ? lower(leaf).startsWith(lower(test.value)) : leaf.startsWith(test.value);
    case "suffix":
      if (typeof leaf !== "string") return false;
      return test.ignoreCase ? lower(leaf).endsWith(lower(test.value)) : leaf.endsWith(test.value);
    case "equals-ignore-case":
      return typeof leaf === "string" && lower(leaf) === lower(test.value);
    case "wildcard":
      return typeof leaf === "string" && wildcardMatches(test.wildcard, leaf);
    case "numeric":
      return typeof leaf === "number" && withinBounds(test, leaf);
    case "cidr":
      return typeof leaf === "string" && ipInRange(test.range, leaf);
  }
}

function withinBounds(test: Extract<ValueTest, { kind: "numeric" }>, value: number): boolean {
  const { lower: low, upper: high } = test;
  if (low !== undefined && (low.inclusive ? value < low.value : value <= low.value)) return false;
  if (high !== undefined && (high.inclusive ? value > high.value : value >= high.value)) return false;
  return true;
}

function conditionMatches(condition: Condition, leaves: readonly Leaf[]): boolean {
  // `exists` looks at leaves only: a field holding an object does not exist for it (as in EventBridge).
  if (condition.kind === "exists") return condition.present === leaves.length > 0;
  if (condition.kind === "anything-but") {
    return leaves.some((leaf) => !condition.excluded.some((test) => testMatches(test, leaf)));
  }
  return leaves.some((leaf) => testMatches(condition, leaf));
}

function fieldsMatch(pattern: CompiledPattern, object: Record<string, unknown> | undefined): boolean {
  return (
    pattern.leaves.every(({ field, conditions }) => {
      const leaves = elementsOf(fieldOf(object, field)).filter(isLeaf);
      return conditions.some((condition) => conditionMatches(condition, leaves));
    }) &&
    pattern.nested.every(({ field, pattern: inner }) => objectMatches(inner, fieldOf(object, field))) &&
    pattern.or.every((branches) => branches.some((branch) => fieldsMatch(branch, object)))
  );
}

/**
 * A pattern object against an event value. When the value is an array of objects, one element must
 * match the whole sub-pattern: fields matched together come from the same element, as EventBridge
 * matches arrays of objects.
 */
function objectMatches(pattern: CompiledPattern, value: unknown): boolean {
  const objects = elementsOf(value).filter(isPlainObject);
  if (objects.length === 0) return fieldsMatch(pattern, undefined);
  return objects.some((object) => fieldsMatch(pattern, object));
}

/**
 * Adds `value` at `key` of `node`: a value already there and the new one both stay, as elements of
 * one flat array (an array stands for each of its elements). Arrays here are this module's copies.
 */
function add(node: Record<string, unknown>, key: string, value: unknown): void {
  const existing = Object.hasOwn(node, key) ? node[key] : undefined;
  if (existing === undefined) node[key] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else node[key] = [existing, value];
}

/**
 * Puts `value` under the dotted `path` of `target`. A loop, not recursion, and no copies of the
 * path: a key of a million dots costs one pass, not the stack or quadratic memory.
 */
function place(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    const existing = Object.hasOwn(node, key) ? node[key] : undefined;
    if (isPlainObject(existing)) {
      node = existing;
      continue;
    }
    const child: Record<string, unknown> = {};
    add(node, key, child);
    node = child;
  }
  add(node, path[path.length - 1]!, value);
}

/**
 * The event with every dotted key expanded (`{"a.b": 1}` → `{"a": {"b": 1}}`): EventBridge matches
 * on paths, so a pattern's `a.b` finds the value under either spelling. The event itself is left as it was.
 */
function expandDottedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(expandDottedKeys);
  if (!isPlainObject(value)) return value;
  const expanded: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) place(expanded, key.split("."), expandDottedKeys(child));
  return expanded;
}

/** An event as patterns are matched against it (dotted keys expanded): built once, matched by many rules. */
export interface MatchableEvent {
  readonly expanded: unknown;
}

/**
 * The expansion is a copy of the whole event, far dearer than matching one pattern, so a record
 * offered to many rules is expanded once (bench/detection.ts measured 100 rules spending 80% of
 * their time re-expanding the same envelope).
 */
export function matchableEvent(event: unknown): MatchableEvent {
  // Most events have no dotted key: reading them as they are spares the copy (matching only reads).
  return { expanded: hasDottedKey(event) ? expandDottedKeys(event) : event };
}

/**
 * Whether a key anywhere in the event holds a dot; stops at the first. A `__proto__` key counts too:
 * the expansion's assignment does not keep it as a field, and both paths must match alike.
 */
function hasDottedKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasDottedKey);
  if (!isPlainObject(value)) return false;
  for (const key of Object.keys(value)) {
    if (key.includes(".") || key === "__proto__" || hasDottedKey(value[key])) return true;
  }
  return false;
}

/** Whether an event made matchable once matches a compiled pattern. */
export function matchesEvent(pattern: CompiledPattern, event: MatchableEvent): boolean {
  return objectMatches(pattern, event.expanded);
}

/** Whether an event (parsed JSON) matches a compiled pattern. */
export function patternMatches(pattern: CompiledPattern, event: unknown): boolean {
  return matchesEvent(pattern, matchableEvent(event));
}
