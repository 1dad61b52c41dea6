import type { PatternPart } from "./sigma-ast.js";

/**
 * Parses a Sigma string value into literal text and wildcards. Sigma's escapes: `\*`, `\?` and
 * `\\` are the literal characters; a backslash before anything else is itself (so Windows paths
 * need no doubling).
 */
export function parseWildcards(value: string): PatternPart[] {
  const parts: PatternPart[] = [];
  let literal = "";
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    const next = value[i + 1];
    if (char === "\\" && (next === "*" || next === "?" || next === "\\")) {
      literal += next;
      i++;
    } else if (char === "*" || char === "?") {
      if (literal !== "") parts.push({ literal });
      literal = "";
      parts.push({ wildcard: char });
    } else literal += char;
  }
  if (literal !== "") parts.push({ literal });
  return parts;
}

/** Literal text as a pattern (no wildcard characters interpreted): for encoded values. */
export function literalPattern(value: string): PatternPart[] {
  return value === "" ? [] : [{ literal: value }];
}

export function withLeadingWildcard(parts: readonly PatternPart[]): PatternPart[] {
  return "wildcard" in (parts[0] ?? {}) && (parts[0] as { wildcard: string }).wildcard === "*"
    ? [...parts]
    : [{ wildcard: "*" }, ...parts];
}

export function withTrailingWildcard(parts: readonly PatternPart[]): PatternPart[] {
  const last = parts[parts.length - 1];
  return last !== undefined && "wildcard" in last && last.wildcard === "*" ? [...parts] : [...parts, { wildcard: "*" }];
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}

/** An anchored RegExp for the pattern; `s` so that `*` crosses newlines as in the SIEMs. */
export function patternRegExp(parts: readonly PatternPart[], cased: boolean): RegExp {
  const body = parts
    .map((part) => ("literal" in part ? escapeRegExp(part.literal) : part.wildcard === "*" ? ".*" : "."))
    .join("");
  return new RegExp(`^${body}$`, cased ? "su" : "siu");
}
