import { BlockList } from "node:net";
import type { Comparison, OperatorSpec } from "./condition-operators.js";
import { readBase64, readBool, readCidr, readDateMs, readIp, readNumber } from "./condition-values.js";
import { compilePattern, type PatternFlavour } from "./patterns.js";
import { joinPieces, parseTemplate, resolveTemplate, type Template } from "./policy-variables.js";
import type { RequestContext } from "./request-context.js";
import { matchGlob, type Glob } from "./wildcard.js";

/**
 * Whether ANY of a condition key's policy values matches one request value: the OR over values of
 * "Conditions with multiple context keys or values". Negation (NOR) and the set operators are
 * applied by the caller, on top of this positive match.
 */
export type ValueMatcher = (requestValue: string, context: RequestContext) => boolean;

function compare(left: number, right: number, comparison: Comparison): boolean {
  switch (comparison) {
    case "eq":
      return left === right;
    case "lt":
      return left < right;
    case "lte":
      return left <= right;
    case "gt":
      return left > right;
    case "gte":
      return left >= right;
  }
}

/** StringEquals and StringEqualsIgnoreCase: equality after substituting variables; `*` is literal. */
function stringMatcher(templates: readonly Template[], fold: (text: string) => string): ValueMatcher {
  if (!templates.some((template) => template.hasVariables)) {
    const accepted = new Set(templates.map((template) => fold(joinPieces(template.pieces))));
    return (value) => accepted.has(fold(value));
  }
  return (value, context) => {
    const folded = fold(value);
    return templates.some((template) => {
      const resolved = resolveTemplate(template, context);
      return resolved !== undefined && fold(joinPieces(resolved)) === folded;
    });
  };
}

/** StringLike and the ARN operators: wildcards, compiled once unless a value holds a variable. */
function patternMatcher(templates: readonly Template[], flavour: PatternFlavour): ValueMatcher {
  const fixed: Glob[] = templates.filter((t) => !t.hasVariables).map((t) => compilePattern(t.pieces, flavour));
  const dynamic = templates.filter((template) => template.hasVariables);
  return (value, context) =>
    fixed.some((glob) => matchGlob(glob, value)) ||
    dynamic.some((template) => {
      const resolved = resolveTemplate(template, context);
      return resolved !== undefined && matchGlob(compilePattern(resolved, flavour), value);
    });
}

function boolMatcher(templates: readonly Template[]): ValueMatcher {
  return (value, context) => {
    const requested = readBool(value);
    return (
      requested !== undefined &&
      templates.some((template) => {
        const resolved = resolveTemplate(template, context);
        return resolved !== undefined && readBool(joinPieces(resolved)) === requested;
      })
    );
  };
}

function orderedMatcher(values: readonly string[], read: (text: string) => number | undefined, spec: OperatorSpec) {
  // The document parser has refused values that do not read, so every one is a number here.
  const expected = values.map(read).filter((n): n is number => n !== undefined);
  return (value: string): boolean => {
    const requested = read(value);
    return requested !== undefined && expected.some((policyValue) => compare(requested, policyValue, spec.comparison));
  };
}

function binaryMatcher(values: readonly string[]): ValueMatcher {
  const expected = values.map(readBase64).filter((bytes): bytes is Buffer => bytes !== undefined);
  return (value) => {
    const requested = readBase64(value);
    return requested !== undefined && expected.some((bytes) => bytes.equals(requested));
  };
}

/** IPv4 and IPv6 ranges through node:net's BlockList, built once per condition key. */
function ipMatcher(values: readonly string[]): ValueMatcher {
  const ranges = new BlockList();
  for (const value of values) {
    const cidr = readCidr(value);
    if (cidr !== undefined) ranges.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return (value) => {
    const ip = readIp(value);
    return ip !== undefined && ranges.check(ip.address, ip.family);
  };
}

/** The positive matcher of one operator family over one key's policy values. */
export function valueMatcher(spec: OperatorSpec, values: readonly string[], variables: boolean): ValueMatcher {
  const templates = () => values.map((value) => parseTemplate(value, variables));
  switch (spec.family) {
    case "String":
      return stringMatcher(templates(), (text) => text);
    case "StringIgnoreCase":
      return stringMatcher(templates(), (text) => text.toLowerCase());
    case "StringLike":
      return patternMatcher(templates(), "plain");
    case "Arn":
      return patternMatcher(templates(), "arn");
    case "Bool":
      return boolMatcher(templates());
    case "Numeric":
      return orderedMatcher(values, readNumber, spec);
    case "Date":
      return orderedMatcher(values, readDateMs, spec);
    case "Binary":
      return binaryMatcher(values);
    case "IpAddress":
      return ipMatcher(values);
    case "Null":
      throw new Error("Null tests presence, not values; it has no value matcher.");
  }
}
