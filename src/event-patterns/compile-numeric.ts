import type { Condition, NumericBound } from "./conditions.js";
import { refusePattern } from "./pattern-error.js";

const LOWER = new Set([">", ">="]);
const UPPER = new Set(["<", "<="]);

function describe(value: unknown): string {
  return value === undefined ? "]" : typeof value === "string" ? value : JSON.stringify(value);
}

function numberAfter(operator: string, value: unknown): number {
  if (typeof value !== "number") refusePattern(`Value of ${operator === "=" ? "equals" : operator} must be numeric`);
  return value;
}

function bound(operator: string, value: number): NumericBound {
  return { value, inclusive: operator.endsWith("=") };
}

/**
 * `numeric`: `["=", n]`, one bound (`[">", n]`, `["<=", n]`…) or a lower then an upper bound
 * (`[">=", a, "<", b]`), refused with EventBridge's reasons otherwise.
 */
export function compileNumeric(operand: unknown): Condition {
  if (!Array.isArray(operand)) refusePattern("Value of numeric must be an array.");
  const terms: unknown[] = operand;
  const operator = terms[0];
  if (typeof operator !== "string") refusePattern(`Invalid member in numeric match: ${describe(operator)}`);
  if (operator === "=") {
    const value = numberAfter(operator, terms[1]);
    if (terms.length > 2) refusePattern("Too many elements in numeric expression");
    return { kind: "numeric", lower: bound(">=", value), upper: bound("<=", value) };
  }
  if (UPPER.has(operator)) {
    const upper = bound(operator, numberAfter(operator, terms[1]));
    if (terms.length > 2) refusePattern("Too many elements in numeric expression");
    return { kind: "numeric", upper };
  }
  if (!LOWER.has(operator)) refusePattern(`Unrecognized numeric range operator: ${operator}`);
  const lower = bound(operator, numberAfter(operator, terms[1]));
  if (terms.length === 2) return { kind: "numeric", lower };
  const second = terms[2];
  if (typeof second !== "string") refusePattern(`Bad value in numeric range: ${describe(second)}`);
  if (!UPPER.has(second)) refusePattern(`Bad numeric range operator: ${second}`);
  const upper = bound(second, numberAfter(second, terms[3]));
  if (terms.length > 4) refusePattern("Too many terms in numeric range expression");
  if (lower.value >= upper.value) refusePattern("Bottom must be less than top");
  return { kind: "numeric", lower, upper };
}
