import type { CloudTrailRecord } from "../../model/record.js";
import { compileEventSelectors } from "../../selectors/selector-matcher.js";
import type { EventSelectorMatcher } from "../../selectors/selector-types.js";
import type { TrailConfig } from "../../stores/trails/index.js";

function isInsightRecord(record: CloudTrailRecord): boolean {
  return record.eventType === "AwsCloudTrailInsight" || record.eventCategory === "Insight";
}

/** The insight type an Insights record describes (spec §8.2 `insightDetails.insightType`). */
function insightTypeOf(record: CloudTrailRecord): unknown {
  const details = record["insightDetails"];
  return typeof details === "object" && details !== null
    ? (details as { insightType?: unknown }).insightType
    : undefined;
}

/**
 * What a trail delivers: its event selectors pick events; its Insight selectors, not its event
 * selectors, pick Insights records, by type (spec §8.1; decision 0019, point 7). Insights on
 * management events are the only ones Cairn computes.
 */
export function trailRecordMatcher(trail: TrailConfig): EventSelectorMatcher {
  const events = compileEventSelectors(trail);
  const insightTypes = new Set(
    (trail.insightSelectors ?? [])
      .filter((selector) => (selector.EventCategories ?? ["Management"]).includes("Management"))
      .map((selector) => selector.InsightType as string),
  );
  return {
    matches: (record) =>
      isInsightRecord(record) ? insightTypes.has(String(insightTypeOf(record))) : events.matches(record),
  };
}
