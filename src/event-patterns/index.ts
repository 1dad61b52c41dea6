export { compileEventPattern } from "./compile-pattern.js";
export { patternMatches } from "./match-pattern.js";
export { InvalidEventPatternError } from "./pattern-error.js";
export { cloudTrailEnvelopeOf } from "./cloudtrail-envelope.js";
