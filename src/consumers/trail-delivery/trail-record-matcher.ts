import type { CloudTrailRecord } from "../../model/record.js";
import { compileEventSelectors } from "../../selectors/selector-matcher.js";
import type { EventSelectorMatcher } from "../../selectors/selector-types.js";
import type { TrailConfig } from "../../stores/trails/index.js";

function isInsightRecord(record: CloudTrailRecord): boolean {
  return record.eventType === "AwsCloudTrailInsight" || record.eventCategory === "Insight";
}

/**
 * The category and type an Insights record describes (spec §8.2 `insightDetails.insightType`;
 * `insightDetails.eventCategory: "Data"`, Cairn's mark of data-event Insights, decision 0019).
 */
function insightKindOf(record: CloudTrailRecord): string {
  const details = record["insightDetails"];
  const { insightType, eventCategory } =
    typeof details === "object" && details !== null
      ? (details as { insightType?: unknown; eventCategory?: unknown })
      : { insightType: undefined, eventCategory: undefined };
  return `${eventCategory === "Data" ? "Data" : "Management"}/${String(insightType)}`;
}

/**
 * What a trail delivers: its event selectors pick events; its Insight selectors, not its event
 * selectors, pick Insights records, by category and type (spec §8.1; decision 0019, point 7).
 */
export function trailRecordMatcher(trail: TrailConfig): EventSelectorMatcher {
  const events = compileEventSelectors(trail);
  const kinds = new Set<string>();
  for (const selector of trail.insightSelectors ?? [])
    for (const category of selector.EventCategories ?? ["Management"]) kinds.add(`${category}/${selector.InsightType}`);
  return {
    matches: (record) => (isInsightRecord(record) ? kinds.has(insightKindOf(record)) : events.matches(record)),
  };
}
