import { parseRuleFile } from "./parse-rules.js";
import { SigmaEngine } from "./sigma-engine.js";
import type { SigmaRule } from "./sigma-rule.js";

/** Rule ids are UUIDs in SigmaHQ; a name may serve as id. */
const RULE_ID_CHARS_MAX = 256;

/** A rule file as one live rule: the rule it reports (its correlation's when it holds one), and every rule in it. */
export interface UploadedRule {
  readonly id: string;
  readonly title: string;
  readonly level: string;
  readonly rules: readonly SigmaRule[];
}

/**
 * Reads a rule file added through the API: it must load whole (every document) and report one rule,
 * a detection rule or a correlation with the rules it reads. Resolves to the rule, or the reason it
 * is refused, as `cairn sigma test` would print it.
 *
 * @example const upload = uploadedRule("rule.yml", yamlText); if ("reason" in upload) refuse(upload.reason);
 */
export function uploadedRule(name: string, yamlText: string): UploadedRule | { reason: string } {
  const { rules, errors } = parseRuleFile(name, yamlText);
  const refused = [...errors, ...new SigmaEngine(rules).errors];
  if (refused.length > 0)
    return {
      reason: refused
        .map(
          (error) =>
            `document ${error.source.document}${error.title !== undefined ? ` (${error.title})` : ""}: ${error.reason}`,
        )
        .join("; "),
    };
  if (rules.length === 0) return { reason: "the file holds no rule" };
  const correlations = rules.filter((rule) => rule.kind === "correlation");
  const top = correlations.length > 0 ? correlations : rules;
  if (top.length !== 1)
    return {
      reason: `the file holds ${top.length} ${correlations.length > 0 ? "correlations" : "rules"}: add one rule per file (a correlation with the rules it reads)`,
    };
  const [rule] = top as [SigmaRule];
  if (rule.id === `${name}#${rule.source.document}`) return { reason: "the rule has no id (nor name)" };
  if (rule.id.length > RULE_ID_CHARS_MAX)
    return { reason: `the rule's id is longer than ${RULE_ID_CHARS_MAX} characters` };
  return { id: rule.id, title: rule.title, level: rule.level, rules };
}
