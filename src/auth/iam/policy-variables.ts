import type { RequestContext } from "./request-context.js";

/**
 * Policy variables ("IAM policy elements: Variables and tags"): `${aws:username}`, a default as
 * `${aws:username, 'x'}`, and `${*}`, `${?}`, `${$}` for the characters themselves. Only a document
 * with `"Version": "2012-10-17"` has variables; in an older one the same text is literal.
 */
export type TemplatePiece =
  /** Policy text: `*` and `?` in it are wildcards where the operator has wildcards. */
  | { readonly text: string }
  /** A character written as `${*}`, `${?}` or `${$}`, and a resolved variable: never a wildcard. */
  | { readonly literal: string }
  /** A context key, lower-cased, and the default to use when the request has none. */
  | { readonly variable: string; readonly fallback?: string };

export interface Template {
  readonly pieces: readonly TemplatePiece[];
  readonly hasVariables: boolean;
}

const SPECIAL = new Set(["*", "?", "$"]);
const VARIABLE = /^\s*([^\s,'{}$]+)\s*(?:,\s*'([^']*)'\s*)?$/;

function pieceOf(inner: string): TemplatePiece | undefined {
  if (SPECIAL.has(inner)) return { literal: inner };
  const match = VARIABLE.exec(inner);
  if (match === null) return undefined;
  const variable = (match[1] ?? "").toLowerCase();
  return match[2] === undefined ? { variable } : { variable, fallback: match[2] };
}

/** Splits a Resource or condition value into text and variables. Malformed `${…}` stays as text. */
export function parseTemplate(value: string, variablesEnabled: boolean): Template {
  if (!variablesEnabled || !value.includes("${")) return { pieces: [{ text: value }], hasVariables: false };
  const pieces: TemplatePiece[] = [];
  let text = "";
  let index = 0;
  while (index < value.length) {
    const start = value.indexOf("${", index);
    const end = start < 0 ? -1 : value.indexOf("}", start + 2);
    const piece = end < 0 ? undefined : pieceOf(value.slice(start + 2, end));
    if (piece === undefined) {
      text += start < 0 || end < 0 ? value.slice(index) : value.slice(index, start + 2);
      index = start < 0 || end < 0 ? value.length : start + 2;
      continue;
    }
    text += value.slice(index, start);
    if (text !== "") pieces.push({ text });
    text = "";
    pieces.push(piece);
    index = end + 1;
  }
  if (text !== "") pieces.push({ text });
  return { pieces, hasVariables: pieces.some((piece) => "variable" in piece) };
}

/**
 * Substitutes the request's values. Undefined when a variable has no value and no default: "the
 * value is effectively null. There is no equal or like value", so the caller matches nothing with it.
 * A multivalued key is no variable ("You can't use a multivalued condition key as a variable").
 */
export function resolveTemplate(template: Template, context: RequestContext): TemplatePiece[] | undefined {
  const resolved: TemplatePiece[] = [];
  for (const piece of template.pieces) {
    if (!("variable" in piece)) {
      resolved.push(piece);
      continue;
    }
    const value = context.get(piece.variable);
    if (typeof value === "string") resolved.push({ literal: value });
    else if (value === undefined && piece.fallback !== undefined) resolved.push({ literal: piece.fallback });
    else return undefined;
  }
  return resolved;
}

/** The text of resolved pieces, for operators without wildcards. */
export function joinPieces(pieces: readonly TemplatePiece[]): string {
  return pieces.map((piece) => ("text" in piece ? piece.text : "literal" in piece ? piece.literal : "")).join("");
}
