export { SigmaEngine } from "./sigma-engine.js";
export { parseRuleFile } from "./parse-rules.js";
export { loadRuleFiles } from "./load-rule-files.js";
export { detectionLakeQuery } from "./lake-sql.js";
export { inEventTimeOrder, type SigmaMatch } from "./sigma-match.js";
export type { SigmaRule, DetectionRule, RuleLoadError } from "./sigma-rule.js";
export { uploadedRule } from "./rule-upload.js";
