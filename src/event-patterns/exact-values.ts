import type { CompiledPattern } from "./conditions.js";

/**
 * The strings a top-level field must equal for any event to match the pattern, when the pattern
 * names them exactly (`"source": ["aws.s3", "aws.ec2"]`), so that a holder of many rules can index
 * them by the field and offer an event only to the rules of its value. Undefined when the pattern
 * does not tie the field to exact strings alone (another operator among its values, the field only
 * inside `$or`, or not named at all): such a rule must be offered every event.
 */
export function exactStringsOf(pattern: CompiledPattern, field: string): readonly string[] | undefined {
  for (const leaf of pattern.leaves) {
    if (leaf.field !== field) continue;
    const values: string[] = [];
    for (const condition of leaf.conditions) {
      if (condition.kind !== "exact-string") return undefined;
      values.push(condition.value);
    }
    return values;
  }
  return undefined;
}
