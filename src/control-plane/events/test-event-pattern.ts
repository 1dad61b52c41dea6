import { compileEventPattern, InvalidEventPatternError, patternMatches } from "../../event-patterns/index.js";
import { ApiError } from "../../lib/api-error.js";
import { jsonNestingExceeds } from "../../lib/json-depth.js";
import { isPlainObject } from "../../lib/plain-object.js";
import type { OperationResult } from "../operation.js";
import { requiredString } from "./events-input.js";

/** The longest pattern EventBridge accepts (the `EventPattern` shape of the events model). */
export const EVENT_PATTERN_LENGTH_MAX = 4096;
/**
 * How deep a tested event may nest. The matcher walks the event recursively; a deeper one is refused
 * before it is parsed, so no event can exhaust the stack. Real events nest a dozen levels.
 */
const EVENT_NESTING_MAX = 100;
/** The envelope fields TestEventPattern requires (EventBridge does not in fact require `resources`). */
const REQUIRED_EVENT_FIELDS = ["id", "account", "source", "time", "region", "detail-type"];
const EVENT_NOT_VALID = "Parameter Event is not valid.";

function parseEvent(text: string): Record<string, unknown> {
  if (jsonNestingExceeds(text, EVENT_NESTING_MAX)) throw new ApiError("ValidationException", EVENT_NOT_VALID);
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch {
    throw new ApiError("ValidationException", EVENT_NOT_VALID);
  }
  if (!isPlainObject(event) || !REQUIRED_EVENT_FIELDS.every((field) => Object.hasOwn(event, field))) {
    throw new ApiError("ValidationException", EVENT_NOT_VALID);
  }
  return event;
}

/** Compiles a pattern, or refuses it with EventBridge's InvalidEventPatternException and the matcher's reason. */
export function compilePattern(text: string): ReturnType<typeof compileEventPattern> {
  try {
    return compileEventPattern(text);
  } catch (error) {
    if (!(error instanceof InvalidEventPatternError)) throw error;
    throw new ApiError("InvalidEventPatternException", `Event pattern is not valid. Reason: ${error.message}`);
  }
}

/** TestEventPattern: whether the event (an EventBridge envelope, as JSON text) matches the pattern. */
export function testEventPattern(input: Record<string, unknown>): Promise<OperationResult> {
  const patternText = requiredString(input, "EventPattern", EVENT_PATTERN_LENGTH_MAX);
  const event = parseEvent(requiredString(input, "Event"));
  const result = patternMatches(compilePattern(patternText), event);
  return Promise.resolve({ output: { Result: result } });
}
