import { valueMatcher, type ValueMatcher } from "./condition-matchers.js";
import { parseConditionOperator, type ConditionOperator } from "./condition-operators.js";
import { readBool } from "./condition-values.js";
import type { PolicyStatement } from "./policy-document.js";
import type { RequestContext } from "./request-context.js";

/** One compiled test of the request context. */
export type ConditionCheck = (context: RequestContext) => boolean;

/** The request's values for a key: none when it is absent (an empty list is no value either). */
function requestValues(context: RequestContext, key: string): readonly string[] {
  const value = context.get(key);
  return value === undefined ? [] : typeof value === "string" ? [value] : value;
}

/**
 * What an operator answers when the request has no value for its key ("IAM JSON policy elements:
 * Condition operators"): false, except true for …IfExists ("If the key is not present, evaluate the
 * condition element as true"), for a negated operator ("If the policy condition requires that the key
 * is not matched, such as StringNotLike or ArnNotLike, and the right key is not present, the condition
 * is true"), and for ForAllValues ("It also returns true if there are no keys in the request");
 * ForAnyValue is false ("For no matching key or a null dataset, the condition returns false").
 */
function whenAbsent(operator: ConditionOperator): boolean {
  if (operator.ifExists) return true;
  if (operator.set === "ForAllValues") return true;
  if (operator.set === "ForAnyValue") return false;
  return operator.spec.negated;
}

/**
 * One key under one operator. Without a set operator, several request values act like one: the
 * positive operator holds when any request value matches any policy value, its negation when none
 * does. With ForAllValues every request value must satisfy the operator, with ForAnyValue one must;
 * for a negated operator "satisfy" is "matches none of the policy values" (NOR).
 */
function keyCheck(operator: ConditionOperator, key: string, match: ValueMatcher): ConditionCheck {
  const negated = operator.spec.negated;
  const absent = whenAbsent(operator);
  return (context) => {
    const values = requestValues(context, key);
    if (values.length === 0) return absent;
    const satisfies = (value: string): boolean => match(value, context) !== negated;
    if (operator.set === "ForAllValues") return values.every(satisfies);
    if (operator.set === "ForAnyValue") return values.some(satisfies);
    return values.some((value) => match(value, context)) !== negated;
  };
}

/** Null: "true" holds when the key is absent, "false" when it is present; several values OR. */
function nullCheck(key: string, values: readonly string[]): ConditionCheck {
  const accepted = values.map(readBool);
  return (context) => {
    const absent = requestValues(context, key).length === 0;
    return accepted.some((wantsAbsent) => wantsAbsent === absent);
  };
}

/**
 * Compiles a statement's Condition element into one check: every operator and every key under it
 * must hold (AND). Key names are compared lower-cased: "Key names are case-insensitive".
 */
export function compileCondition(condition: PolicyStatement["Condition"], variables: boolean): ConditionCheck {
  const checks: ConditionCheck[] = [];
  for (const [name, keys] of Object.entries(condition ?? {})) {
    const operator = parseConditionOperator(name);
    // The document parser refused unknown operators; a compiled document holds only known ones.
    if (operator === undefined) throw new Error(`Unknown condition operator ${name} in a parsed document.`);
    for (const [key, values] of Object.entries(keys)) {
      const lower = key.toLowerCase();
      checks.push(
        operator.spec.family === "Null"
          ? nullCheck(lower, values)
          : keyCheck(operator, lower, valueMatcher(operator.spec, values, variables)),
      );
    }
  }
  return (context) => checks.every((check) => check(context));
}
