/**
 * A pattern EventBridge would refuse. The message is the reason EventBridge gives (its matcher's own
 * wording, aws/event-ruler), without the parser's position suffix; the API answers it as
 * `InvalidEventPatternException: Event pattern is not valid. Reason: <message>`.
 */
export class InvalidEventPatternError extends Error {
  override readonly name = "InvalidEventPatternError";
}

/** Throws the refusal; a function so that compile steps read as one line each. */
export function refusePattern(reason: string): never {
  throw new InvalidEventPatternError(reason);
}
