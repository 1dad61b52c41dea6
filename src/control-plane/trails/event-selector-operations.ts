/** PutEventSelectors and GetEventSelectors (spec §6). */
import { isDeepStrictEqual } from "node:util";
import { ApiError } from "../../lib/api-error.js";
import type { OperationContext, OperationHandler } from "../operation.js";
import { toLowerCamelKeys } from "../../normalize/lower-camel.js";
import { validateAdvancedEventSelectors } from "../../selectors/advanced-selectors.js";
import { DEFAULT_BASIC_SELECTOR, validateBasicEventSelectors } from "../../selectors/basic-selectors.js";
import { InvalidEventSelectorsError, SelectorShapeError } from "../../selectors/selector-errors.js";
import type { TrailConfig } from "../../stores/trails/index.js";
import type { TrailOperationDeps } from "./trail-deps.js";
import { resolveTrail, trailResources } from "./trail-input.js";

function present(input: Record<string, unknown>, member: string): boolean {
  return input[member] !== undefined && input[member] !== null;
}

/** Maps the selector module's errors to the API's exceptions. */
function validated<T>(validate: () => T): T {
  try {
    return validate();
  } catch (error) {
    if (error instanceof InvalidEventSelectorsError)
      throw new ApiError("InvalidEventSelectorsException", error.message);
    if (error instanceof SelectorShapeError) throw new ApiError("SerializationException", error.message);
    throw error;
  }
}

/** The selectors member of Put/GetEventSelectors output: whichever kind the trail uses. */
function selectorsOutput(trail: TrailConfig): Record<string, unknown> {
  if (trail.advancedEventSelectors !== undefined)
    return { TrailARN: trail.trailArn, AdvancedEventSelectors: trail.advancedEventSelectors };
  return { TrailARN: trail.trailArn, EventSelectors: trail.eventSelectors ?? [DEFAULT_BASIC_SELECTOR] };
}

export function putEventSelectorsOperation(deps: TrailOperationDeps): OperationHandler {
  return async function putEventSelectors(input: Record<string, unknown>, context: OperationContext) {
    const trail = await resolveTrail(deps.trails, input, "TrailName", context, { mutating: true });
    const basic = present(input, "EventSelectors");
    const advanced = present(input, "AdvancedEventSelectors");
    if (basic === advanced)
      throw new ApiError(
        "InvalidParameterCombinationException",
        "Specify either EventSelectors or AdvancedEventSelectors, but not both.",
      );
    // One kind replaces the other (spec §6): the stored configuration holds exactly one.
    const { eventSelectors: _basic, advancedEventSelectors: _advanced, ...rest } = trail;
    let updated: TrailConfig;
    if (basic) {
      const eventSelectors = validated(() => validateBasicEventSelectors(input["EventSelectors"]));
      const isDefault = isDeepStrictEqual(eventSelectors, [
        { ...DEFAULT_BASIC_SELECTOR, DataResources: [], ExcludeManagementEventSources: [] },
      ]);
      updated = { ...rest, eventSelectors, hasCustomEventSelectors: !isDefault };
    } else {
      const advancedEventSelectors = validated(() =>
        validateAdvancedEventSelectors(input["AdvancedEventSelectors"], "trail"),
      );
      updated = { ...rest, advancedEventSelectors, hasCustomEventSelectors: true };
    }
    await deps.trails.put(updated);
    const output = selectorsOutput(updated);
    return {
      output,
      responseElements: toLowerCamelKeys(output) as Record<string, unknown>,
      resources: trailResources(updated),
    };
  };
}

export function getEventSelectorsOperation(deps: TrailOperationDeps): OperationHandler {
  return async function getEventSelectors(input: Record<string, unknown>, context: OperationContext) {
    const trail = await resolveTrail(deps.trails, input, "TrailName", context, { mutating: false });
    return { output: selectorsOutput(trail), resources: trailResources(trail) };
  };
}
