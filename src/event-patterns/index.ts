export { compileEventPattern } from "./compile-pattern.js";
export { patternMatches } from "./match-pattern.js";
export { exactStringsOf } from "./exact-values.js";
export { InvalidEventPatternError } from "./pattern-error.js";
export { cloudTrailEnvelopeOf, derivedEnvelopeId, type CloudTrailEnvelope } from "./cloudtrail-envelope.js";
export {
  transformTargetInput,
  validateInputTransformer,
  validateTargetInput,
  type TransformContext,
} from "./input-transformer.js";
export {
  asksForDataEvents,
  offerCloudTrailRecord,
  offerPreparedRecord,
  prepareCloudTrailRecord,
  ENVELOPE_BYTES_MAX,
  type CloudTrailRule,
  type RuleState,
} from "./cloudtrail-rule-match.js";
