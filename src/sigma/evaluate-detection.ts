import { ipInRange } from "../lib/ip-address.js";
import { allScalarTexts, rawValuesAt, textsAt } from "./record-values.js";
import type { DetectionNode, PatternPart, ValueTest } from "./sigma-ast.js";
import { patternRegExp } from "./wildcard-pattern.js";

/**
 * One record as the rules read it: the texts at each path are computed once per record, and their
 * lower-case forms once too, however many rules test the path (most test eventSource and eventName).
 */
export class RecordView {
  private readonly texts = new Map<string, string[]>();
  private readonly lowered = new Map<string, string[]>();
  private scalars: string[] | undefined;

  constructor(readonly record: unknown) {}

  textsAt(path: readonly string[]): string[] {
    const key = path.join("\u0000");
    let texts = this.texts.get(key);
    if (texts === undefined) {
      texts = textsAt(this.record, path);
      this.texts.set(key, texts);
    }
    return texts;
  }

  loweredAt(path: readonly string[]): string[] {
    const key = path.join("\u0000");
    let lowered = this.lowered.get(key);
    if (lowered === undefined) {
      lowered = this.textsAt(path).map((text) => text.toLowerCase());
      this.lowered.set(key, lowered);
    }
    return lowered;
  }

  allScalars(): string[] {
    this.scalars ??= allScalarTexts(this.record);
    return this.scalars;
  }
}

/** A compiled test over the texts at a path: `lower` gives them lower-cased, computed on demand. */
type TextsPredicate = (texts: readonly string[], lower: () => readonly string[]) => boolean;

const predicates = new WeakMap<ValueTest, TextsPredicate>();

function numberOf(text: string): number | undefined {
  if (text.trim() === "") return undefined;
  const number = Number(text);
  return Number.isFinite(number) ? number : undefined;
}

/** `x`, `x*`, `*x`, `*x*` without case: string comparisons instead of a regular expression. */
function simplePattern(parts: readonly PatternPart[]): TextsPredicate | undefined {
  const star = (part: PatternPart | undefined) => part !== undefined && "wildcard" in part && part.wildcard === "*";
  const leading = star(parts[0]);
  const trailing = parts.length > 1 && star(parts[parts.length - 1]);
  const middle = parts.slice(leading ? 1 : 0, trailing ? -1 : undefined);
  if (middle.length !== 1 || !("literal" in middle[0]!)) return undefined;
  const literal = middle[0].literal.toLowerCase();
  // Lower-casing can change a string's length (e.g. 'İ'); the regular expression handles those.
  if (literal.length !== middle[0].literal.length) return undefined;
  if (leading && trailing) return (_texts, lower) => lower().some((text) => text.includes(literal));
  if (leading) return (_texts, lower) => lower().some((text) => text.endsWith(literal));
  if (trailing) return (_texts, lower) => lower().some((text) => text.startsWith(literal));
  return (_texts, lower) => lower().some((text) => text === literal);
}

/**
 * A literal every match of a simple regular expression contains (`.+:assumed-role/aws:.+` →
 * `:assumed-role/aws:`), so that texts without it skip the regular expression, whose leading `.+`
 * backtracks over every position. Only for expressions made of literals, `.`, `*`, `+`, `^` and `$`
 * (no groups, classes, alternation, escapes or other quantifiers) and no flag but `u`; undefined
 * otherwise.
 */
function requiredLiteral(source: string, flags: string): string | undefined {
  if (flags.replace("u", "") !== "") return undefined;
  if (/[|()[\]{}?\\]/.test(source)) return undefined;
  let best = "";
  for (const run of source.split(/[.^$]/)) {
    // A character before `*` may be absent: the run is cut there. One before `+` may repeat: the
    // run is cut after it.
    for (const literal of run.split(/.\*/).flatMap((piece) => piece.split("+")))
      if (literal.length > best.length) best = literal;
  }
  return best.length >= 3 ? best : undefined;
}

function eachText(predicate: (text: string) => boolean): TextsPredicate {
  return (texts) => texts.some(predicate);
}

function buildPredicate(test: ValueTest): TextsPredicate {
  switch (test.kind) {
    case "pattern": {
      const simple = test.cased ? undefined : simplePattern(test.parts);
      if (simple !== undefined) return simple;
      const regex = patternRegExp(test.parts, test.cased);
      return eachText((text) => regex.test(text));
    }
    case "regex": {
      const regex = new RegExp(test.source, test.flags);
      const literal = requiredLiteral(test.source, test.flags);
      if (literal !== undefined) return eachText((text) => text.includes(literal) && regex.test(text));
      return eachText((text) => regex.test(text));
    }
    case "cidr":
      return eachText((text) => ipInRange(test, text));
    case "compare":
      return eachText((text) => {
        const number = numberOf(text);
        if (number === undefined) return false;
        if (test.op === "lt") return number < test.value;
        if (test.op === "lte") return number <= test.value;
        if (test.op === "gt") return number > test.value;
        return number >= test.value;
      });
    case "fieldref":
      throw new Error("fieldref is evaluated with its record");
  }
}

function predicateOf(test: ValueTest): TextsPredicate {
  let predicate = predicates.get(test);
  if (predicate === undefined) {
    predicate = buildPredicate(test);
    predicates.set(test, predicate);
  }
  return predicate;
}

function fieldMatches(view: RecordView, path: readonly string[], test: ValueTest): boolean {
  if (test.kind === "fieldref") {
    const others = new Set(test.cased ? view.textsAt(test.path) : view.loweredAt(test.path));
    return (test.cased ? view.textsAt(path) : view.loweredAt(path)).some((text) => others.has(text));
  }
  return predicateOf(test)(view.textsAt(path), () => view.loweredAt(path));
}

function keywordMatches(view: RecordView, test: ValueTest): boolean {
  if (test.kind === "fieldref") return false;
  const scalars = view.allScalars();
  return predicateOf(test)(scalars, () => scalars.map((text) => text.toLowerCase()));
}

/**
 * Whether a CloudTrail record matches a compiled detection. Strings match case-insensitively
 * unless `|cased`; regular expressions are case-sensitive unless `|re|i` (Sigma's rules).
 */
export function matchesDetection(node: DetectionNode, view: RecordView): boolean {
  switch (node.kind) {
    case "and":
      return node.children.every((child) => matchesDetection(child, view));
    case "or":
      return node.children.some((child) => matchesDetection(child, view));
    case "not":
      return !matchesDetection(node.child, view);
    case "field":
      return fieldMatches(view, node.path, node.test);
    case "null":
      return view.textsAt(node.path).length === 0;
    case "exists":
      return rawValuesAt(view.record, node.path).length > 0;
    case "keyword":
      return keywordMatches(view, node.test);
    case "constant":
      return node.value;
  }
}
