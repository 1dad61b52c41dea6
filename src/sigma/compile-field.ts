import { parseCidr } from "./cidr.js";
import type { DetectionNode, PatternPart, ValueTest } from "./sigma-ast.js";
import { refuse } from "./sigma-rule.js";
import { literalPattern, parseWildcards, withLeadingWildcard, withTrailingWildcard } from "./wildcard-pattern.js";

const KNOWN_MODIFIERS = new Set([
  ...["contains", "startswith", "endswith", "all", "re", "i", "m", "s", "cidr", "exists", "cased", "neq"],
  ...["lt", "lte", "gt", "gte", "fieldref", "windash", "base64", "base64offset"],
]);
/** Modifiers Sigma defines that make no sense for, or are not implemented over, CloudTrail JSON. */
const REFUSED_MODIFIERS: Record<string, string> = {
  expand: "placeholders (|expand) must be filled in before the rule is loaded",
  utf16le: "UTF-16 encodings (|utf16le) have no meaning for CloudTrail's JSON text",
  utf16be: "UTF-16 encodings (|utf16be) have no meaning for CloudTrail's JSON text",
  utf16: "UTF-16 encodings (|utf16) have no meaning for CloudTrail's JSON text",
  wide: "UTF-16 encodings (|wide) have no meaning for CloudTrail's JSON text",
};
const WINDASH = ["-", "/", "\u2013", "\u2014", "\u2015"];
/** windash expands every dash into 5 variants; 5^5 values per value is the most a rule may ask. */
const WINDASH_MAX_DASHES = 5;

type Scalar = string | number | boolean;

function isScalar(value: unknown): value is Scalar {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

/** A field path: dots separate members (`userIdentity.sessionContext.sessionIssuer.type`). */
function fieldPath(field: string): string[] {
  const path = field.split(".");
  if (path.some((step) => step === "")) refuse(`field '${field}' has an empty path segment`);
  return path;
}

function checkModifiers(modifiers: readonly string[], field: string): Set<string> {
  for (const modifier of modifiers) {
    const why = REFUSED_MODIFIERS[modifier];
    if (why !== undefined) refuse(`unsupported modifier on '${field}': ${why}`);
    if (!KNOWN_MODIFIERS.has(modifier))
      refuse(`unsupported modifier '|${modifier}' on '${field}' (supported: ${[...KNOWN_MODIFIERS].join(", ")})`);
  }
  const set = new Set(modifiers);
  const has = (name: string) => set.has(name);
  if (["i", "m", "s"].some(has) && !has("re")) refuse(`'${field}': |i, |m and |s only go with |re`);
  return set;
}

function windashVariants(value: string): string[] {
  const dashes = [...value].filter((char) => WINDASH.includes(char)).length;
  if (dashes > WINDASH_MAX_DASHES) refuse(`|windash: '${value}' has more than ${WINDASH_MAX_DASHES} dashes`);
  let variants = [""];
  for (const char of value) {
    const options = WINDASH.includes(char) ? WINDASH : [char];
    variants = variants.flatMap((prefix) => options.map((option) => prefix + option));
  }
  return variants;
}

/** The three shifted encodings of `value` inside a longer base64 text (Sigma's base64offset). */
function base64OffsetVariants(value: string): string[] {
  const startTrim = [0, 2, 3];
  const endTrim = [0, 3, 2];
  return [0, 1, 2].map((shift) => {
    const encoded = Buffer.from(" ".repeat(shift) + value, "utf8").toString("base64");
    const end = encoded.length - endTrim[(Buffer.byteLength(value) + shift) % 3]!;
    return encoded.slice(startTrim[shift], end);
  });
}

/** A string value through the encoding modifiers, then the position ones, as patterns. */
function stringPatterns(value: string, modifiers: ReadonlySet<string>): PatternPart[][] {
  let patterns: PatternPart[][];
  if (modifiers.has("base64offset")) patterns = base64OffsetVariants(value).map(literalPattern);
  else if (modifiers.has("base64")) patterns = [literalPattern(Buffer.from(value, "utf8").toString("base64"))];
  else if (modifiers.has("windash")) patterns = windashVariants(value).map(parseWildcards);
  else patterns = [parseWildcards(value)];
  if (modifiers.has("contains") || modifiers.has("endswith")) patterns = patterns.map(withLeadingWildcard);
  if (modifiers.has("contains") || modifiers.has("startswith")) patterns = patterns.map(withTrailingWildcard);
  return patterns;
}

function regexTest(value: Scalar, modifiers: ReadonlySet<string>, field: string): ValueTest {
  if (typeof value !== "string") refuse(`'${field}|re' needs a string value`);
  const flags = `u${modifiers.has("i") ? "i" : ""}${modifiers.has("m") ? "m" : ""}${modifiers.has("s") ? "s" : ""}`;
  try {
    new RegExp(value, flags);
  } catch (error) {
    refuse(`'${field}|re': invalid regular expression '${value}' (${(error as Error).message})`);
  }
  return { kind: "regex", source: value, flags };
}

const COMPARISONS = ["lt", "lte", "gt", "gte"] as const;

/** The tests one value stands for (OR of several for windash and base64offset). */
function valueTests(value: Scalar, modifiers: ReadonlySet<string>, field: string): ValueTest[] {
  if (modifiers.has("re")) return [regexTest(value, modifiers, field)];
  if (modifiers.has("cidr")) return [{ kind: "cidr", cidr: String(value), ...parseCidr(String(value)) }];
  const comparison = COMPARISONS.find((op) => modifiers.has(op));
  if (comparison !== undefined) {
    const number = typeof value === "number" ? value : Number(value);
    if (typeof value === "boolean" || !Number.isFinite(number)) refuse(`'${field}|${comparison}' needs a number`);
    return [{ kind: "compare", op: comparison, value: number }];
  }
  if (modifiers.has("fieldref")) {
    if (typeof value !== "string") refuse(`'${field}|fieldref' needs a field name`);
    return [{ kind: "fieldref", path: fieldPath(value), cased: modifiers.has("cased") }];
  }
  // Numbers and booleans compare as their text, as Sigma's backends do.
  return stringPatterns(String(value), modifiers).map((parts) => ({
    kind: "pattern",
    parts,
    cased: modifiers.has("cased"),
  }));
}

function existsNode(path: string[] | undefined, value: unknown, field: string): DetectionNode {
  if (path === undefined) refuse(`'${field}': |exists needs a field`);
  if (typeof value !== "boolean") refuse(`'${field}|exists' needs true or false`);
  const node: DetectionNode = { kind: "exists", path };
  return value ? node : { kind: "not", child: node };
}

/**
 * One `field|modifiers: value(s)` entry of a selection. A list is an OR of its values (AND with
 * `|all`); `null` asks that the field be absent or null; no field (`|contains: x`) is a keyword
 * search over every value of the record.
 */
export function compileFieldEntry(key: string, value: unknown): DetectionNode {
  const [field = "", ...modifierList] = key.split("|");
  const modifiers = checkModifiers(modifierList, key);
  const path = field === "" ? undefined : fieldPath(field);
  if (modifiers.has("exists")) return existsNode(path, value, key);
  if (path === undefined && (modifiers.has("fieldref") || modifiers.has("neq")))
    refuse(`'${key}': |fieldref and |neq need a field`);
  const values = Array.isArray(value) ? (value as unknown[]) : [value];
  if (modifiers.has("all") && values.length < 2) refuse(`'${key}': |all needs a list of at least two values`);
  const children = values.map((item): DetectionNode => {
    if (item === null) {
      if (path === undefined) refuse(`'${key}': a null value needs a field`);
      return { kind: "null", path };
    }
    if (!isScalar(item)) refuse(`'${key}': values must be strings, numbers, booleans or null`);
    const alternatives = valueTests(item, modifiers, key).map((test): DetectionNode =>
      path === undefined ? { kind: "keyword", test } : { kind: "field", path, test },
    );
    return alternatives.length === 1 ? alternatives[0]! : { kind: "or", children: alternatives };
  });
  if (children.length === 0) return { kind: "constant", value: false };
  const combined: DetectionNode =
    children.length === 1 ? children[0]! : { kind: modifiers.has("all") ? "and" : "or", children };
  return modifiers.has("neq") ? { kind: "not", child: combined } : combined;
}
