import { refusePattern } from "./pattern-error.js";

/**
 * A compiled `wildcard` operand: the literal pieces between the unescaped `*`s. `\*` is a literal
 * star and `\\` a literal backslash; any other backslash, and two stars in a row, are refused as
 * EventBridge refuses them (positions count the operand's UTF-8 bytes after its opening quote, as
 * EventBridge's parser does).
 */
export interface Wildcard {
  readonly pieces: readonly string[];
}

export function compileWildcard(operand: string): Wildcard {
  const pieces: string[] = [];
  let piece = "";
  let position = 1;
  for (let i = 0; i < operand.length; i++) {
    const char = operand[i]!;
    if (char === "*") {
      if (operand[i + 1] === "*") refusePattern(`Consecutive wildcard characters at pos ${position}`);
      pieces.push(piece);
      piece = "";
    } else if (char === "\\") {
      const next = operand[i + 1];
      if (next !== "*" && next !== "\\") refusePattern(`Invalid escape character at pos ${position}`);
      piece += next;
      i++;
      position++;
    } else {
      piece += char;
    }
    position += Buffer.byteLength(char);
  }
  pieces.push(piece);
  return { pieces };
}

/**
 * Whether `value` matches: the first piece is a prefix, the last a suffix, the ones between occur in
 * order. Taking each middle piece at its earliest occurrence is enough (a later one never leaves
 * more room for the rest), so this is linear in the value's length, never backtracking.
 */
export function wildcardMatches(wildcard: Wildcard, value: string): boolean {
  const { pieces } = wildcard;
  if (pieces.length === 1) return value === pieces[0];
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  let from = first.length;
  const end = value.length - last.length;
  for (const middle of pieces.slice(1, -1)) {
    const at = value.indexOf(middle, from);
    if (at < 0 || at + middle.length > end) return false;
    from = at + middle.length;
  }
  return true;
}
