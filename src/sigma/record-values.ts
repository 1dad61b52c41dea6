/**
 * How a Sigma field path reads a CloudTrail record. The Lake translation (lake-sql.ts) reads the
 * stored JSON the same way, node for node:
 * - dots walk members; a list met on the way is walked element by element (`a.b` over
 *   `{"a":[{"b":1},{"b":2}]}` gives 1 and 2), and a list at the end gives its elements (nested
 *   lists flattened);
 * - strings are themselves, numbers and booleans their JSON text, objects their compact JSON
 *   text (so `requestParameters|contains: x` searches the whole member); nulls are no value.
 */

type Json = unknown;

function descend(values: readonly Json[], step: string): Json[] {
  const out: Json[] = [];
  const visit = (value: Json): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (typeof value === "object" && value !== null && Object.hasOwn(value, step))
      out.push((value as Record<string, Json>)[step]);
  };
  values.forEach(visit);
  return out;
}

function flatten(values: readonly Json[]): Json[] {
  return values.flatMap((value) => (Array.isArray(value) ? flatten(value) : [value]));
}

/** The raw values at `path` (lists flattened, nulls kept), for `exists` and `null`. */
export function rawValuesAt(record: Json, path: readonly string[]): Json[] {
  let values: Json[] = [record];
  for (const step of path) values = descend(values, step);
  return values;
}

function valueText(value: Json): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value === "object" && value !== null) return JSON.stringify(value);
  return undefined;
}

/** The texts a value test is applied to at `path`; empty when the field is absent or null. */
export function textsAt(record: Json, path: readonly string[]): string[] {
  // Most paths cross no list: read them without the intermediate arrays of the general walk.
  let value = record;
  for (const step of path) {
    if (typeof value !== "object" || value === null) return [];
    if (Array.isArray(value)) return textsThroughLists(record, path);
    if (!Object.hasOwn(value, step)) return [];
    value = (value as Record<string, Json>)[step];
  }
  if (Array.isArray(value)) return textsThroughLists(record, path);
  const text = valueText(value);
  return text === undefined ? [] : [text];
}

function textsThroughLists(record: Json, path: readonly string[]): string[] {
  const texts: string[] = [];
  for (const value of flatten(rawValuesAt(record, path))) {
    const text = valueText(value);
    if (text !== undefined) texts.push(text);
  }
  return texts;
}

/** Every scalar in the record (strings, numbers, booleans), for keyword searches. */
export function allScalarTexts(record: Json): string[] {
  const texts: string[] = [];
  const visit = (value: Json): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (typeof value === "object" && value !== null) Object.values(value).forEach(visit);
    else {
      const text = valueText(value);
      if (text !== undefined) texts.push(text);
    }
  };
  visit(record);
  return texts;
}
