import { isPlainObject } from "../lib/plain-object.js";

/** One step of a path: a member name, an array index, or a wildcard over members or elements. */
type Step =
  | { readonly kind: "member"; readonly name: string }
  | { readonly kind: "index"; readonly index: number }
  | { readonly kind: "any" };

/** A parsed path; `definite` when it has no wildcard (it then names at most one value). */
export interface JsonPath {
  readonly steps: readonly Step[];
  readonly definite: boolean;
}

/** Longest path EventBridge accepts (TargetInputPath, the values of InputPathsMap: 256 characters). */
const JSON_PATH_LENGTH_MAX = 256;

const MEMBER = /^[^.[\]\s]+/;
const BRACKET = /^\[(?:(\d+)|\*|'([^']*)'|"([^"]*)")\]/;

/**
 * Parses the JSONPath subset EventBridge evaluates: `$`, dot members (letters, digits, dashes,
 * underscores, slashes… anything but `.`, `[`, `]` and spaces), `.*`, array indices `[0]`, `[*]`,
 * and quoted bracket members (`['detail-type']`, which Target.InputPath documents). Undefined when
 * the text is not such a path; no filters, slices, unions or recursive descent.
 */
export function parseJsonPath(text: string): JsonPath | undefined {
  if (!text.startsWith("$") || text.length > JSON_PATH_LENGTH_MAX) return undefined;
  const steps: Step[] = [];
  let rest = text.slice(1);
  while (rest.length > 0) {
    const step = nextStep(rest);
    if (step === undefined) return undefined;
    steps.push(step.step);
    rest = rest.slice(step.length);
  }
  return { steps, definite: steps.every((step) => step.kind !== "any") };
}

function nextStep(rest: string): { step: Step; length: number } | undefined {
  if (rest.startsWith(".*")) return { step: { kind: "any" }, length: 2 };
  if (rest.startsWith(".")) {
    const name = MEMBER.exec(rest.slice(1))?.[0];
    return name === undefined ? undefined : { step: { kind: "member", name }, length: 1 + name.length };
  }
  const bracket = BRACKET.exec(rest);
  if (bracket === null) return undefined;
  const [whole, index, single, double] = bracket;
  if (index !== undefined) return { step: { kind: "index", index: Number(index) }, length: whole.length };
  const name = single ?? double;
  return { step: name === undefined ? { kind: "any" } : { kind: "member", name }, length: whole.length };
}

function childrenOf(value: unknown, step: Step): unknown[] {
  if (step.kind === "member") {
    return isPlainObject(value) && Object.hasOwn(value, step.name) ? [value[step.name]] : [];
  }
  if (step.kind === "index") {
    return Array.isArray(value) && step.index < value.length ? [value[step.index]] : [];
  }
  if (Array.isArray(value)) return [...value];
  return isPlainObject(value) ? Object.values(value) : [];
}

/**
 * The value a path names in `document`: for a definite path the value or undefined when absent;
 * for a path with a wildcard the array of every value it reaches, in document order (undefined
 * when it reaches none), as JSONPath evaluators answer an indefinite path.
 */
export function evaluateJsonPath(path: JsonPath, document: unknown): unknown {
  let current: unknown[] = [document];
  for (const step of path.steps) current = current.flatMap((value) => childrenOf(value, step));
  if (path.definite) return current[0];
  return current.length === 0 ? undefined : current;
}
