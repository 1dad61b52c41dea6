import type { TemplatePiece } from "./policy-variables.js";
import { compileGlob, type Glob, type GlobToken } from "./wildcard.js";

/**
 * How a pattern's wildcards treat the colons of an ARN:
 * - `plain` (StringLike, Action): `*` and `?` match any character.
 * - `arn` (ArnLike/ArnEquals): "Each of the six colon-delimited components of the ARN is checked
 *   separately", so a wildcard in the first five components never matches a colon; the sixth (the
 *   resource, which may itself hold colons) is free.
 * - `resource` (the Resource and NotResource elements): wildcards stay within their segment, except
 *   that "if the * wildcard is the last character of a resource ARN segment, it can expand to match
 *   beyond the colon boundaries" ("IAM JSON policy elements: Resource"). So `arn:aws:s3:::*` and
 *   `arn:aws:logs:*:*:*` reach through the rest, while `arn:aws:iam::12*3:…` stays in the account.
 */
export type PatternFlavour = "plain" | "arn" | "resource";

/** ARN segments before the resource: arn, partition, service, region, account. */
const PREFIX_SEGMENTS = 5;

interface PatternChar {
  readonly char: string;
  readonly wildcard: boolean;
}

function charsOf(pieces: readonly TemplatePiece[]): PatternChar[] {
  const chars: PatternChar[] = [];
  for (const piece of pieces) {
    const wildcards = "text" in piece;
    const text = "text" in piece ? piece.text : "literal" in piece ? piece.literal : "";
    for (const char of text) chars.push({ char, wildcard: wildcards && (char === "*" || char === "?") });
  }
  return chars;
}

function colonSafe(flavour: PatternFlavour, chars: readonly PatternChar[], index: number, segment: number): boolean {
  if (flavour === "plain" || segment >= PREFIX_SEGMENTS) return false;
  if (flavour === "arn" || chars[index]?.char === "?") return true;
  const following = chars[index + 1];
  return following !== undefined && following.char !== ":";
}

/** The wildcard tokens of resolved pattern pieces under a flavour's colon rules. */
function patternTokens(pieces: readonly TemplatePiece[], flavour: PatternFlavour): GlobToken[] {
  const chars = charsOf(pieces);
  const tokens: GlobToken[] = [];
  let literal = "";
  let segment = 0;
  chars.forEach(({ char, wildcard }, index) => {
    if (!wildcard) {
      literal += char;
      if (char === ":") segment++;
      return;
    }
    if (literal !== "") tokens.push({ literal });
    literal = "";
    tokens.push({ wildcard: char === "*" ? "*" : "?", colonSafe: colonSafe(flavour, chars, index, segment) });
  });
  if (literal !== "") tokens.push({ literal });
  return tokens;
}

export function compilePattern(
  pieces: readonly TemplatePiece[],
  flavour: PatternFlavour,
  caseInsensitive = false,
): Glob {
  return compileGlob(patternTokens(pieces, flavour), caseInsensitive);
}
