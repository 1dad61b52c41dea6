import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { trailRecordMatcher } from "../../../src/consumers/trail-delivery/trail-record-matcher.js";
import type { CloudTrailRecord } from "../../../src/model/record.js";
import { record, trailConfig } from "./harness.js";

/** An Insights record of `insightType`, on data events when `data` (Cairn's mark, decision 0019). */
function insight(insightType: string, data: boolean): CloudTrailRecord {
  return record({
    eventType: "AwsCloudTrailInsight",
    eventCategory: "Insight",
    insightDetails: { state: "Start", insightType, ...(data ? { eventCategory: "Data" } : {}) },
  });
}

describe("trailRecordMatcher: Insights records by category and type", () => {
  it("delivers an Insights record only when a selector names its type on its category", () => {
    const trail = trailConfig({
      insightSelectors: [
        { InsightType: "ApiCallRateInsight", EventCategories: ["Data"] },
        { InsightType: "ApiErrorRateInsight" },
      ],
    });
    const matcher = trailRecordMatcher(trail);
    assert.equal(matcher.matches(insight("ApiCallRateInsight", true)), true);
    assert.equal(matcher.matches(insight("ApiCallRateInsight", false)), false);
    assert.equal(matcher.matches(insight("ApiErrorRateInsight", false)), true);
    assert.equal(matcher.matches(insight("ApiErrorRateInsight", true)), false);
  });

  it("delivers none without Insight selectors, whatever its event selectors pick", () => {
    const matcher = trailRecordMatcher(trailConfig());
    assert.equal(matcher.matches(insight("ApiCallRateInsight", false)), false);
    assert.equal(matcher.matches(insight("ApiCallRateInsight", true)), false);
  });
});
