/**
 * Compares a record Cairn wrote with one CloudTrail wrote for the same call, ignoring values that
 * depend on the upstream (ids, times, addresses) but not how CloudTrail writes them: member names,
 * JSON types, redaction placeholders and the form of timestamps.
 */

const PLACEHOLDERS = new Set([
  "HIDDEN_DUE_TO_SECURITY_REASONS",
  "****",
  "<sensitiveDataRemoved>",
  "Value hidden due to security reasons.",
]);

/** `MMM d, yyyy h:mm:ss a`, as CloudTrail writes the timestamps of query and json services. */
const LEGACY_TIME = /^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/;

/** What a value is, as far as the comparison cares: its JSON type, or the placeholder/time form of a string. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value !== "string") return typeof value;
  if (PLACEHOLDERS.has(value)) return `placeholder ${JSON.stringify(value)}`;
  if (LEGACY_TIME.test(value)) return "time MMM d, yyyy h:mm:ss a";
  if (ISO_TIME.test(value)) return "time ISO 8601";
  return "string";
}

export interface ShapeRules {
  /** Whether `actual` may lack members the example has (an upstream such as moto answers with fewer). */
  readonly allowMissing: boolean;
  /** Whether `actual` may have members the example lacks. */
  readonly allowExtra: boolean;
}

/** Every difference between the two values' shapes, as `path: what`; [] when they agree. */
export function shapeDifferences(example: unknown, actual: unknown, rules: ShapeRules, path = "$"): string[] {
  const expectedKind = kindOf(example);
  const actualKind = kindOf(actual);
  if (expectedKind !== actualKind) return [`${path}: CloudTrail writes ${expectedKind}, Cairn wrote ${actualKind}`];
  if (Array.isArray(example) && Array.isArray(actual)) {
    // Lists are compared by their first item: their length depends on the call.
    if (example.length === 0 || actual.length === 0) return [];
    return shapeDifferences(example[0], actual[0], rules, `${path}[0]`);
  }
  if (expectedKind !== "object") return [];
  const expected = example as Record<string, unknown>;
  const got = actual as Record<string, unknown>;
  const out: string[] = [];
  for (const key of Object.keys(expected)) {
    if (Object.hasOwn(got, key)) out.push(...shapeDifferences(expected[key], got[key], rules, `${path}.${key}`));
    else if (!rules.allowMissing || PLACEHOLDERS.has(expected[key] as string)) out.push(`${path}.${key}: missing`);
  }
  if (!rules.allowExtra) {
    for (const key of Object.keys(got))
      if (!Object.hasOwn(expected, key)) out.push(`${path}.${key}: not in CloudTrail's record`);
  }
  return out;
}
