export { compileEventPattern } from "./compile-pattern.js";
export { patternMatches } from "./match-pattern.js";
export { InvalidEventPatternError } from "./pattern-error.js";
export { cloudTrailEnvelopeOf } from "./cloudtrail-envelope.js";
export {
  transformTargetInput,
  validateInputTransformer,
  validateTargetInput,
  type InputTransformer,
  type TargetInputSpec,
  type TransformContext,
  type TransformResult,
} from "./input-transformer.js";
export {
  asksForDataEvents,
  offerCloudTrailRecord,
  offerPreparedRecord,
  prepareCloudTrailRecord,
  ENVELOPE_BYTES_MAX,
  type CloudTrailOfferOptions,
  type CloudTrailRule,
  type CloudTrailRuleDecision,
  type NotOfferedReason,
  type PreparedCloudTrailRecord,
  type RuleState,
} from "./cloudtrail-rule-match.js";
export type { CloudTrailEnvelope } from "./cloudtrail-envelope.js";
export type { CompiledPattern } from "./conditions.js";
