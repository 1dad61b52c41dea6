/**
 * IAM's condition operators ("IAM JSON policy elements: Condition operators"): the family that says
 * how a value compares, whether the operator is negated, and for ordered families the comparison.
 * Operator names are matched exactly, as IAM matches them.
 */
export type OperatorFamily =
  "String" | "StringIgnoreCase" | "StringLike" | "Numeric" | "Date" | "Bool" | "Binary" | "IpAddress" | "Arn" | "Null";

export type Comparison = "eq" | "lt" | "lte" | "gt" | "gte";

export interface OperatorSpec {
  readonly family: OperatorFamily;
  /** A negated operator (StringNotEquals, NotIpAddress…): true when NO policy value matches (NOR). */
  readonly negated: boolean;
  readonly comparison: Comparison;
}

/** A full operator name taken apart: `ForAnyValue:StringLikeIfExists` is StringLike, ForAnyValue, IfExists. */
export interface ConditionOperator {
  readonly name: string;
  readonly spec: OperatorSpec;
  readonly set?: "ForAllValues" | "ForAnyValue";
  readonly ifExists: boolean;
}

const spec = (family: OperatorFamily, negated = false, comparison: Comparison = "eq"): OperatorSpec => ({
  family,
  negated,
  comparison,
});

function orderedFamily(family: "Numeric" | "Date"): Record<string, OperatorSpec> {
  return {
    [`${family}Equals`]: spec(family),
    [`${family}NotEquals`]: spec(family, true),
    [`${family}LessThan`]: spec(family, false, "lt"),
    [`${family}LessThanEquals`]: spec(family, false, "lte"),
    [`${family}GreaterThan`]: spec(family, false, "gt"),
    [`${family}GreaterThanEquals`]: spec(family, false, "gte"),
  };
}

const BASE_OPERATORS: Readonly<Record<string, OperatorSpec>> = {
  StringEquals: spec("String"),
  StringNotEquals: spec("String", true),
  StringEqualsIgnoreCase: spec("StringIgnoreCase"),
  StringNotEqualsIgnoreCase: spec("StringIgnoreCase", true),
  StringLike: spec("StringLike"),
  StringNotLike: spec("StringLike", true),
  ...orderedFamily("Numeric"),
  ...orderedFamily("Date"),
  Bool: spec("Bool"),
  BinaryEquals: spec("Binary"),
  IpAddress: spec("IpAddress"),
  NotIpAddress: spec("IpAddress", true),
  // "The ArnEquals and ArnLike condition operators behave identically" (and so do their negations).
  ArnEquals: spec("Arn"),
  ArnLike: spec("Arn"),
  ArnNotEquals: spec("Arn", true),
  ArnNotLike: spec("Arn", true),
  Null: spec("Null"),
};

/**
 * Takes an operator name apart, or answers undefined for a name IAM does not know. `Null` takes
 * neither IfExists ("except the Null condition") nor a set qualifier: it tests presence, not values.
 */
export function parseConditionOperator(name: string): ConditionOperator | undefined {
  const qualifier = /^(ForAllValues|ForAnyValue):/.exec(name);
  const set = qualifier?.[1] as ConditionOperator["set"];
  const rest = qualifier ? name.slice(qualifier[0].length) : name;
  const ifExists = rest.endsWith("IfExists");
  const base = ifExists ? rest.slice(0, -"IfExists".length) : rest;
  const found = Object.hasOwn(BASE_OPERATORS, base) ? BASE_OPERATORS[base] : undefined;
  if (found === undefined) return undefined;
  if (found.family === "Null" && (ifExists || set !== undefined)) return undefined;
  return set === undefined ? { name, spec: found, ifExists } : { name, spec: found, set, ifExists };
}
