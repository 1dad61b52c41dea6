/**
 * Validation of advanced event selectors (spec §6.2): the model constraints, then the per-category
 * field rules of advanced-fields.ts, then the 500-value limit.
 */
import {
  categoryRules,
  fullArnProblem,
  KNOWN_FIELDS,
  OPERATORS,
  type CategoryRules,
  type Operator,
  type SelectorTarget,
} from "./advanced-fields.js";
import { InvalidEventSelectorsError, SelectorShapeError } from "./selector-errors.js";
import type { AdvancedEventSelector, AdvancedFieldSelector } from "./selector-types.js";

/** All values of all conditions of all selectors, per trail or event data store (spec §5.6). */
const MAX_ADVANCED_VALUES = 500;
/** Event data stores take at most 5 advanced selectors (CreateEventDataStore doc); trails only the value cap. */
const MAX_EDS_ADVANCED_SELECTORS = 5;
const FIELD_PATTERN = /^[\w|.]{1,1000}$/;
const MAX_VALUE_LENGTH = 2048;
const MAX_NAME_LENGTH = 1000;

function invalid(message: string): InvalidEventSelectorsError {
  return new InvalidEventSelectorsError(message);
}

function asObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new SelectorShapeError(`${where} must be a structure.`);
  return value as Record<string, unknown>;
}

function parseFieldSelector(value: unknown, where: string): AdvancedFieldSelector {
  const item = asObject(value, where);
  const field = item["Field"];
  if (field === undefined || field === null) throw invalid(`${where}.Field is required.`);
  if (typeof field !== "string") throw new SelectorShapeError(`${where}.Field must be a string.`);
  if (!FIELD_PATTERN.test(field)) throw invalid(`${where}.Field ${JSON.stringify(field)} is not a valid field name.`);
  if (!KNOWN_FIELDS.has(field))
    throw invalid(`${where}.Field ${field} is not supported; use one of ${[...KNOWN_FIELDS].join(", ")}.`);
  const out: Record<string, unknown> = { Field: field };
  for (const operator of OPERATORS) {
    const list = item[operator];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw new SelectorShapeError(`${where}.${operator} must be a list.`);
    if (list.length === 0) throw invalid(`${where}.${operator} must hold at least one value.`);
    list.forEach((v: unknown, i) => {
      if (typeof v !== "string") throw new SelectorShapeError(`${where}.${operator}[${i}] must be a string.`);
      if (v.length < 1 || v.length > MAX_VALUE_LENGTH)
        throw invalid(`${where}.${operator}[${i}] must be 1 to ${MAX_VALUE_LENGTH} characters.`);
    });
    out[operator] = [...(list as string[])];
  }
  if (!OPERATORS.some((operator) => out[operator] !== undefined))
    throw invalid(`${where} (${field}) needs at least one operator: ${OPERATORS.join(", ")}.`);
  return out as unknown as AdvancedFieldSelector;
}

function valuesOf(selector: AdvancedFieldSelector): Array<[Operator, string]> {
  return OPERATORS.flatMap((operator) => (selector[operator] ?? []).map((v): [Operator, string] => [operator, v]));
}

/** The event category a selector selects: its single `eventCategory` Equals value. */
function categoryOfSelector(
  fields: readonly AdvancedFieldSelector[],
  where: string,
  rules: Readonly<Record<string, CategoryRules>>,
): CategoryRules {
  const category = fields.find((f) => f.Field === "eventCategory");
  if (category === undefined) throw invalid(`${where} must have an eventCategory field selector.`);
  const values = valuesOf(category);
  if (values.some(([operator]) => operator !== "Equals") || values.length !== 1)
    throw invalid(`${where}: eventCategory takes exactly one value with the Equals operator.`);
  const name = values[0]![1];
  const found = rules[name];
  if (found === undefined)
    throw invalid(`${where}: eventCategory ${name} is not valid here; use one of ${Object.keys(rules).join(", ")}.`);
  return found;
}

function checkSelector(selector: AdvancedEventSelector, where: string, target: SelectorTarget): void {
  const rules = categoryOfSelector(selector.FieldSelectors, where, categoryRules(target));
  const category = selector.FieldSelectors.find((f) => f.Field === "eventCategory")!.Equals![0]!;
  const seen = new Set<string>();
  const resourceType = selector.FieldSelectors.find((f) => f.Field === "resources.type")?.Equals?.[0];
  for (const fieldSelector of selector.FieldSelectors) {
    const field = fieldSelector.Field;
    if (seen.has(field)) throw invalid(`${where}: field ${field} appears more than once; combine its conditions.`);
    seen.add(field);
    const rule = rules.fields[field];
    if (rule === undefined)
      throw invalid(`${where}: field ${field} is not supported for ${category} events on ${targetName(target)}.`);
    const values = valuesOf(fieldSelector);
    for (const [operator, value] of values) {
      if (!rule.operators.includes(operator))
        throw invalid(`${where}: field ${field} supports only ${rule.operators.join(", ")} for ${category} events.`);
      if (rule.values !== undefined && !rule.values.includes(value))
        throw invalid(`${where}: ${value} is not a valid value for ${field}; use ${rule.values.join(", ")}.`);
      if (field === "resources.ARN" && (operator === "Equals" || operator === "NotEquals")) {
        const problem = fullArnProblem(resourceType, value);
        if (problem !== undefined) throw invalid(`${where}: resources.ARN ${operator} value ${value} ${problem}.`);
      }
    }
    if (rule.singleValue === true && values.length !== 1)
      throw invalid(`${where}: field ${field} takes exactly one value.`);
  }
  for (const required of rules.required)
    if (!seen.has(required)) throw invalid(`${where}: ${category} selectors need a field selector on ${required}.`);
}

function targetName(target: SelectorTarget): string {
  return target === "trail" ? "trails" : "event data stores";
}

/**
 * Validates `AdvancedEventSelectors` as sent; returns a clean copy (known members only). Throws
 * InvalidEventSelectorsError (or SelectorShapeError for wrong JSON types).
 *
 * @example validateAdvancedEventSelectors([{ FieldSelectors: [{ Field: "eventCategory", Equals: ["Management"] }] }], "trail")
 */
export function validateAdvancedEventSelectors(input: unknown, target: SelectorTarget): AdvancedEventSelector[] {
  if (!Array.isArray(input)) throw new SelectorShapeError("AdvancedEventSelectors must be a list.");
  if (input.length === 0) throw invalid("AdvancedEventSelectors must hold at least one selector.");
  if (target === "eventDataStore" && input.length > MAX_EDS_ADVANCED_SELECTORS)
    throw invalid(`An event data store takes at most ${MAX_EDS_ADVANCED_SELECTORS} advanced event selectors.`);
  const selectors = input.map((value: unknown, index): AdvancedEventSelector => {
    const where = `AdvancedEventSelectors[${index}]`;
    const item = asObject(value, where);
    const name = item["Name"];
    if (name !== undefined && name !== null && typeof name !== "string")
      throw new SelectorShapeError(`${where}.Name must be a string.`);
    if (typeof name === "string" && name.length > MAX_NAME_LENGTH)
      throw invalid(`${where}.Name must be at most ${MAX_NAME_LENGTH} characters.`);
    const fields = item["FieldSelectors"];
    if (fields === undefined || fields === null) throw invalid(`${where}.FieldSelectors is required.`);
    if (!Array.isArray(fields)) throw new SelectorShapeError(`${where}.FieldSelectors must be a list.`);
    if (fields.length === 0) throw invalid(`${where}.FieldSelectors must hold at least one field selector.`);
    const parsed = fields.map((f: unknown, i) => parseFieldSelector(f, `${where}.FieldSelectors[${i}]`));
    const selector = { ...(typeof name === "string" ? { Name: name } : {}), FieldSelectors: parsed };
    checkSelector(selector, where, target);
    return selector;
  });
  const total = selectors.reduce((sum, s) => sum + s.FieldSelectors.reduce((n, f) => n + valuesOf(f).length, 0), 0);
  if (total > MAX_ADVANCED_VALUES)
    throw invalid(
      `The advanced event selectors hold ${total} condition values; at most ${MAX_ADVANCED_VALUES} are allowed across all selectors.`,
    );
  return selectors;
}
