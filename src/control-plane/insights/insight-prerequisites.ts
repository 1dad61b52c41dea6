/** Spec §8.1's prerequisites on management events, for a trail's or an event data store's event selectors. */
import { ApiError } from "../../lib/api-error.js";
import type { CloudTrailRecord } from "../../model/record.js";
import type { EventSelectorMatcher } from "../../selectors/selector-types.js";
import type { InsightSelector } from "../../stores/trails/index.js";

export function invalidInsightSelectors(message: string): ApiError {
  return new ApiError("InvalidInsightSelectorsException", message);
}

/** A management call of each kind the event selectors must log for a type. */
function probe(readOnly: boolean): CloudTrailRecord {
  return {
    eventVersion: "1.11",
    eventTime: "2026-01-01T00:00:00Z",
    eventSource: "cloudtrail.amazonaws.com",
    eventName: readOnly ? "ListTrails" : "CreateTrail",
    awsRegion: "us-east-1",
    requestParameters: null,
    responseElements: null,
    eventID: "00000000-0000-4000-8000-000000000000",
    readOnly,
    eventType: "AwsApiCall",
    managementEvent: true,
    eventCategory: "Management",
  };
}

/**
 * The selectors on management events need write management events logged (ApiCallRateInsight) or
 * any (ApiErrorRateInsight); `what` names the trail or store in the message.
 */
export function checkManagementPrerequisites(
  matcher: EventSelectorMatcher,
  selectors: readonly InsightSelector[],
  what: string,
): void {
  const writes = matcher.matches(probe(false));
  const reads = matcher.matches(probe(true));
  for (const { InsightType, EventCategories } of selectors) {
    if (!(EventCategories ?? ["Management"]).includes("Management")) continue;
    if (InsightType === "ApiCallRateInsight" && !writes)
      throw invalidInsightSelectors(`ApiCallRateInsight requires the ${what} to log write management events.`);
    if (InsightType === "ApiErrorRateInsight" && !writes && !reads)
      throw invalidInsightSelectors(`ApiErrorRateInsight requires the ${what} to log read or write management events.`);
  }
}
