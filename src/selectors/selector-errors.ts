/**
 * Errors of selector validation. The selectors module is shared by trails and (later) Lake event data
 * stores, so it does not know about the API's error catalogue: callers map these to
 * InvalidEventSelectorsException / SerializationException.
 */

/** A configuration CloudTrail would refuse; the message names the selector, the member and the rule. */
export class InvalidEventSelectorsError extends Error {
  override readonly name = "InvalidEventSelectorsError";
}

/** A member has the wrong JSON type (AWS JSON services answer these with SerializationException). */
export class SelectorShapeError extends Error {
  override readonly name = "SelectorShapeError";
}
