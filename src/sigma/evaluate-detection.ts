import { ipValue } from "./cidr.js";
import { allScalarTexts, rawValuesAt, textsAt } from "./record-values.js";
import type { DetectionNode, ValueTest } from "./sigma-ast.js";
import { patternRegExp } from "./wildcard-pattern.js";

/** A compiled test over one value's text. */
type TextPredicate = (text: string) => boolean;

const predicates = new WeakMap<ValueTest, TextPredicate>();

function numberOf(text: string): number | undefined {
  if (text.trim() === "") return undefined;
  const number = Number(text);
  return Number.isFinite(number) ? number : undefined;
}

function buildPredicate(test: ValueTest): TextPredicate {
  switch (test.kind) {
    case "pattern": {
      const regex = patternRegExp(test.parts, test.cased);
      return (text) => regex.test(text);
    }
    case "regex": {
      const regex = new RegExp(test.source, test.flags);
      return (text) => regex.test(text);
    }
    case "cidr":
      return (text) => {
        const ip = ipValue(text);
        return ip !== undefined && ip.bits === test.bits && ip.value >= test.low && ip.value <= test.high;
      };
    case "compare":
      return (text) => {
        const number = numberOf(text);
        if (number === undefined) return false;
        if (test.op === "lt") return number < test.value;
        if (test.op === "lte") return number <= test.value;
        if (test.op === "gt") return number > test.value;
        return number >= test.value;
      };
    case "fieldref":
      throw new Error("fieldref is evaluated with its record");
  }
}

function predicateOf(test: ValueTest): TextPredicate {
  let predicate = predicates.get(test);
  if (predicate === undefined) {
    predicate = buildPredicate(test);
    predicates.set(test, predicate);
  }
  return predicate;
}

function fieldMatches(record: unknown, path: readonly string[], test: ValueTest): boolean {
  const texts = textsAt(record, path);
  if (test.kind === "fieldref") {
    const fold = (text: string) => (test.cased ? text : text.toLowerCase());
    const others = new Set(textsAt(record, test.path).map(fold));
    return texts.some((text) => others.has(fold(text)));
  }
  const predicate = predicateOf(test);
  return texts.some(predicate);
}

/**
 * Whether a CloudTrail record matches a compiled detection. Strings match case-insensitively
 * unless `|cased`; regular expressions are case-sensitive unless `|re|i` (Sigma's rules).
 */
export function matchesDetection(node: DetectionNode, record: unknown): boolean {
  switch (node.kind) {
    case "and":
      return node.children.every((child) => matchesDetection(child, record));
    case "or":
      return node.children.some((child) => matchesDetection(child, record));
    case "not":
      return !matchesDetection(node.child, record);
    case "field":
      return fieldMatches(record, node.path, node.test);
    case "null":
      return textsAt(record, node.path).length === 0;
    case "exists":
      return rawValuesAt(record, node.path).length > 0;
    case "keyword":
      return node.test.kind !== "fieldref" && allScalarTexts(record).some(predicateOf(node.test));
    case "constant":
      return node.value;
  }
}
