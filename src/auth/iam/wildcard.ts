/**
 * IAM's `*` and `?` wildcards, matched without regular expressions: a policy's pattern is written by
 * whoever may put policies, and a backtracking regex over `*a*a*a*…` is a denial of service. This is
 * a position-set (NFA) simulation, O(pattern × value) in the worst case, linear for common patterns.
 * Characters are code points, so `?` matches one character, not half a surrogate pair.
 */

/** One piece of a pattern: literal text, or a wildcard that may be barred from matching a colon. */
export type GlobToken = { readonly literal: string } | { readonly wildcard: "*" | "?"; readonly colonSafe?: boolean };

const LITERAL = 0;
const ONE = 1;
const STAR = 2;
const COLON = 58;

export interface Glob {
  readonly kinds: Uint8Array;
  readonly codes: Int32Array;
  /** 1 where a wildcard must not match `:` (an ARN segment boundary). */
  readonly colonSafe: Uint8Array;
  readonly caseInsensitive: boolean;
  /** The whole pattern when it has no wildcard: matched by equality. */
  readonly exact?: string;
}

/** Compiles tokens once; `caseInsensitive` folds both the pattern and each value to lower case. */
export function compileGlob(tokens: readonly GlobToken[], caseInsensitive = false): Glob {
  const kinds: number[] = [];
  const codes: number[] = [];
  const colonSafe: number[] = [];
  let exact = "";
  for (const token of tokens) {
    if ("literal" in token) {
      const literal = caseInsensitive ? token.literal.toLowerCase() : token.literal;
      exact += literal;
      for (const char of literal) {
        kinds.push(LITERAL);
        codes.push(char.codePointAt(0) ?? 0);
        colonSafe.push(0);
      }
    } else {
      kinds.push(token.wildcard === "*" ? STAR : ONE);
      codes.push(-1);
      colonSafe.push(token.colonSafe === true ? 1 : 0);
    }
  }
  const glob = {
    kinds: Uint8Array.from(kinds),
    codes: Int32Array.from(codes),
    colonSafe: Uint8Array.from(colonSafe),
    caseInsensitive,
  };
  if (kinds.every((kind) => kind === LITERAL)) {
    return { ...glob, exact };
  }
  return glob;
}

function closeStars(glob: Glob, states: Uint8Array): void {
  const { kinds } = glob;
  for (let i = 0; i < kinds.length; i++) {
    if (states[i] === 1 && kinds[i] === STAR) states[i + 1] = 1;
  }
}

function step(glob: Glob, current: Uint8Array, next: Uint8Array, code: number): boolean {
  const { kinds, codes, colonSafe } = glob;
  let alive = false;
  for (let i = 0; i < kinds.length; i++) {
    if (current[i] !== 1) continue;
    if (kinds[i] === LITERAL) {
      if (codes[i] !== code) continue;
      next[i + 1] = 1;
    } else {
      if (colonSafe[i] === 1 && code === COLON) continue;
      next[kinds[i] === STAR ? i : i + 1] = 1;
    }
    alive = true;
  }
  return alive;
}

/** Whether the whole value matches the pattern. */
export function matchGlob(glob: Glob, value: string): boolean {
  const text = glob.caseInsensitive ? value.toLowerCase() : value;
  if (glob.exact !== undefined) return text === glob.exact;
  let current = new Uint8Array(glob.kinds.length + 1);
  let next = new Uint8Array(glob.kinds.length + 1);
  current[0] = 1;
  closeStars(glob, current);
  for (const char of text) {
    next.fill(0);
    if (!step(glob, current, next, char.codePointAt(0) ?? 0)) return false;
    closeStars(glob, next);
    [current, next] = [next, current];
  }
  return current[glob.kinds.length] === 1;
}
