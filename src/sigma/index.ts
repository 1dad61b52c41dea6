export { SigmaEngine } from "./sigma-engine.js";
export { parseRuleFile, RULE_FILE_BYTES_MAX, type ParsedRules } from "./parse-rules.js";
export { matchesDetection } from "./evaluate-detection.js";
export { inEventTimeOrder, type SigmaMatch, type MatchedEvent } from "./sigma-match.js";
export type { SigmaRule, DetectionRule, CorrelationRule, RuleLoadError } from "./sigma-rule.js";
export { loadRuleFiles, type LoadedRules } from "./load-rule-files.js";
export { detectionLakeQuery, type LakeTranslation } from "./lake-sql.js";
