import type { DetectionNode } from "./sigma-ast.js";
import { refuse } from "./sigma-rule.js";

type Token =
  | { readonly kind: "word"; readonly text: string }
  | { readonly kind: "open" | "close" }
  | { readonly kind: "quantifier"; readonly all: boolean };

function tokenize(condition: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(\()|(\))|(1|all)\s+of\b|([A-Za-z0-9_*?.-]+))/gy;
  let match: RegExpExecArray | null;
  let end = 0;
  while ((match = pattern.exec(condition)) !== null && match[0] !== "") {
    end = pattern.lastIndex;
    if (match[1] !== undefined) tokens.push({ kind: "open" });
    else if (match[2] !== undefined) tokens.push({ kind: "close" });
    else if (match[3] !== undefined) tokens.push({ kind: "quantifier", all: match[3] === "all" });
    else tokens.push({ kind: "word", text: match[4]! });
  }
  const rest = condition.slice(end).trim();
  if (rest !== "") refuse(`condition '${condition}': cannot read '${rest}'`);
  return tokens;
}

/** Glob over search identifiers (`selection_*`); `them` is every identifier not starting with `_`. */
function identifiersMatching(glob: string, identifiers: readonly string[]): string[] {
  if (glob === "them") return identifiers.filter((name) => !name.startsWith("_"));
  const source = glob
    .replace(/[.+^${}()|[\]\\-]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  const regex = new RegExp(`^${source}$`);
  return identifiers.filter((name) => regex.test(name));
}

/**
 * Parses a Sigma condition (`and`, `or`, `not`, parentheses, `1 of x*`, `all of x*`, `1 of them`,
 * `all of them`; precedence not > and > or) over the compiled search identifiers.
 */
export function parseCondition(condition: string, searches: ReadonlyMap<string, DetectionNode>): DetectionNode {
  const tokens = tokenize(condition);
  let position = 0;
  const identifiers = [...searches.keys()];
  const peekWord = (): string | undefined => {
    const token = tokens[position];
    return token?.kind === "word" ? token.text.toLowerCase() : undefined;
  };
  const parseOr = (): DetectionNode => {
    const children = [parseAnd()];
    while (peekWord() === "or") {
      position++;
      children.push(parseAnd());
    }
    return children.length === 1 ? children[0]! : { kind: "or", children };
  };
  const parseAnd = (): DetectionNode => {
    const children = [parseNot()];
    while (peekWord() === "and") {
      position++;
      children.push(parseNot());
    }
    return children.length === 1 ? children[0]! : { kind: "and", children };
  };
  const parseNot = (): DetectionNode => {
    if (peekWord() === "not") {
      position++;
      return { kind: "not", child: parseNot() };
    }
    return parsePrimary();
  };
  const parsePrimary = (): DetectionNode => {
    const token = tokens[position++];
    if (token === undefined) refuse(`condition '${condition}' ends too early`);
    if (token.kind === "open") {
      const inner = parseOr();
      if (tokens[position++]?.kind !== "close") refuse(`condition '${condition}': a parenthesis is not closed`);
      return inner;
    }
    if (token.kind === "quantifier") {
      const target = tokens[position++];
      if (target?.kind !== "word") refuse(`condition '${condition}': '${token.all ? "all" : "1"} of' needs a name`);
      const names = identifiersMatching(target.text, identifiers);
      if (names.length === 0) refuse(`condition '${condition}': '${target.text}' matches no search identifier`);
      const children = names.map((name) => searches.get(name)!);
      return children.length === 1 ? children[0]! : { kind: token.all ? "and" : "or", children };
    }
    if (token.kind === "word" && !["and", "or", "not"].includes(token.text.toLowerCase())) {
      const search = searches.get(token.text);
      if (search === undefined) refuse(`condition '${condition}': unknown search identifier '${token.text}'`);
      return search;
    }
    return refuse(`condition '${condition}': unexpected '${token.kind === "word" ? token.text : ")"}'`);
  };
  const node = parseOr();
  if (position !== tokens.length) refuse(`condition '${condition}': unexpected text after position ${position}`);
  return node;
}
