/** PutInsightSelectors and GetInsightSelectors on trails, and on event data stores through eds-insight-selectors (spec §8.1, decision 0019). */
import { ApiError } from "../../lib/api-error.js";
import {
  getEdsInsightSelectors,
  putEdsInsightSelectors,
  type EdsInsightCatalog,
} from "../insights/eds-insight-selectors.js";
import { checkManagementPrerequisites, invalidInsightSelectors } from "../insights/insight-prerequisites.js";
import { toLowerCamelKeys } from "../../normalize/lower-camel.js";
import { compileEventSelectors } from "../../selectors/selector-matcher.js";
import type { InsightSelector, TrailConfig } from "../../stores/trails/index.js";
import { optionalString } from "../input.js";
import type { OperationContext, OperationHandler } from "../operation.js";
import type { TrailOperationDeps } from "./trail-deps.js";
import { resolveTrail, trailResources } from "./trail-input.js";

const INSIGHT_TYPES: ReadonlySet<string> = new Set(["ApiCallRateInsight", "ApiErrorRateInsight"]);
const CATEGORIES: ReadonlySet<string> = new Set(["Management", "Data"]);

const invalid = invalidInsightSelectors;

/** Whether the trail's event selectors log data events: a basic selector's DataResources, or an advanced selector of eventCategory Data. */
function logsDataEvents(trail: TrailConfig): boolean {
  if ((trail.eventSelectors ?? []).some((selector) => (selector.DataResources ?? []).length > 0)) return true;
  return (trail.advancedEventSelectors ?? []).some((selector) =>
    selector.FieldSelectors.some((field) => field.Field === "eventCategory" && (field.Equals ?? []).includes("Data")),
  );
}

/**
 * Spec §8.1 prerequisites: on management events, the trail logs write management events
 * (ApiCallRateInsight) or any (ApiErrorRateInsight); on data events, it logs data events.
 */
function checkPrerequisites(trail: TrailConfig, selectors: readonly InsightSelector[]): void {
  for (const { InsightType, EventCategories } of selectors)
    if ((EventCategories ?? []).includes("Data") && !logsDataEvents(trail))
      throw invalid(`${InsightType} on data events requires the trail to log data events.`);
  checkManagementPrerequisites(compileEventSelectors(trail), selectors, "trail");
}

function readCategories(value: unknown, index: number): InsightSelector["EventCategories"] {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((c) => typeof c !== "string"))
    throw new ApiError(
      "SerializationException",
      `Member 'InsightSelectors[${index}].EventCategories' must be a list of strings.`,
    );
  const categories = [...new Set(value as string[])];
  const unknown = categories.find((category) => !CATEGORIES.has(category));
  if (unknown !== undefined)
    throw invalid(`EventCategories value ${JSON.stringify(unknown)} is not Management or Data.`);
  if (categories.length === 0) throw invalid("EventCategories must name Management or Data when it is given.");
  return categories as Array<"Management" | "Data">;
}

/** The InsightSelectors member: a list of at most one selector per type. */
function readSelectors(input: Record<string, unknown>): InsightSelector[] {
  const value = input["InsightSelectors"];
  if (value === undefined || value === null)
    throw new ApiError("InvalidParameterException", "InsightSelectors is required.");
  if (!Array.isArray(value))
    throw new ApiError("SerializationException", "Member 'InsightSelectors' must be a list of InsightSelector.");
  const selectors = (value as unknown[]).map((item, index): InsightSelector => {
    if (typeof item !== "object" || item === null || Array.isArray(item))
      throw new ApiError("SerializationException", `Member 'InsightSelectors[${index}]' must be an InsightSelector.`);
    const selector = item as Record<string, unknown>;
    const type = selector["InsightType"];
    if (typeof type !== "string" || !INSIGHT_TYPES.has(type))
      throw invalid(
        `InsightType must be ApiCallRateInsight or ApiErrorRateInsight (got ${JSON.stringify(type ?? null)}).`,
      );
    const categories = readCategories(selector["EventCategories"], index);
    return {
      InsightType: type as InsightSelector["InsightType"],
      ...(categories !== undefined ? { EventCategories: categories } : {}),
    };
  });
  if (new Set(selectors.map((s) => s.InsightType)).size !== selectors.length)
    throw invalid("Each InsightType may appear only once.");
  return selectors;
}

/**
 * Which the call is about: a trail (TrailName) or an event data store (EventDataStore, with
 * InsightsDestination for Put); naming both, or a destination without a store, is refused.
 */
function targetOf(input: Record<string, unknown>, deps: TrailOperationDeps): "trail" | EdsInsightCatalog {
  const store = optionalString(input, "EventDataStore");
  const destination = optionalString(input, "InsightsDestination");
  if (store === undefined) {
    if (destination !== undefined)
      throw new ApiError(
        "InvalidParameterCombinationException",
        "InsightsDestination applies only with EventDataStore.",
      );
    return "trail";
  }
  if (optionalString(input, "TrailName") !== undefined)
    throw new ApiError("InvalidParameterCombinationException", "Specify either TrailName or EventDataStore, not both.");
  if (deps.eventDataStores === undefined)
    throw new ApiError("UnsupportedOperationException", "This server has no event data stores.");
  return deps.eventDataStores;
}

export function putInsightSelectorsOperation(deps: TrailOperationDeps): OperationHandler {
  return async function putInsightSelectors(input: Record<string, unknown>, context: OperationContext) {
    const target = targetOf(input, deps);
    const selectors = readSelectors(input);
    if (target !== "trail") return putEdsInsightSelectors(target, input, selectors, context);
    const trail = await resolveTrail(deps.trails, input, "TrailName", context, { mutating: true });
    checkPrerequisites(trail, selectors);
    const updated: TrailConfig = { ...trail, insightSelectors: selectors };
    await deps.trails.put(updated);
    const output = { TrailARN: updated.trailArn, InsightSelectors: selectors };
    return {
      output,
      responseElements: toLowerCamelKeys(output) as Record<string, unknown>,
      resources: trailResources(updated),
    };
  };
}

export function getInsightSelectorsOperation(deps: TrailOperationDeps): OperationHandler {
  return async function getInsightSelectors(input: Record<string, unknown>, context: OperationContext) {
    const target = targetOf(input, deps);
    if (target !== "trail") return getEdsInsightSelectors(target, input, context);
    const trail = await resolveTrail(deps.trails, input, "TrailName", context, { mutating: false });
    const selectors = trail.insightSelectors ?? [];
    if (selectors.length === 0)
      throw new ApiError("InsightNotEnabledException", `Trail ${trail.trailArn} does not have Insights enabled.`);
    return { output: { TrailARN: trail.trailArn, InsightSelectors: selectors }, resources: trailResources(trail) };
  };
}
