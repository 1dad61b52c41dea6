import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { listInsightsMetricDataOperation } from "../../src/control-plane/insights/list-insights-metric-data.js";
import type { OperationContext, OperationHandler } from "../../src/control-plane/operation.js";
import { ApiError } from "../../src/lib/api-error.js";
import { openSqliteInsightSeriesStore, type InsightSeriesStore } from "../../src/stores/insights/index.js";
import { MemoryTrailStore } from "../consumers/trails/harness.js";

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 11, 7, 8, 0);
const KEY = {
  accountId: "111122223333",
  region: "us-east-1",
  insightType: "ApiErrorRateInsight" as const,
  eventSource: "iam.amazonaws.com",
  eventName: "GetUser",
  errorCode: "AccessDenied",
};
const context = {
  accountId: KEY.accountId,
  region: KEY.region,
  requestId: "r",
  nowMs: T0 + 60 * MINUTE,
} as OperationContext;
const base = {
  EventSource: KEY.eventSource,
  EventName: KEY.eventName,
  InsightType: KEY.insightType,
  ErrorCode: KEY.errorCode,
  StartTime: T0 / 1000,
  EndTime: (T0 + 10 * MINUTE) / 1000,
  Period: 60,
};

describe("ListInsightsMetricData", () => {
  let directory: string;
  let store: InsightSeriesStore;
  let list: OperationHandler;
  before(async () => {
    directory = mkdtempSync(join(tmpdir(), "cairn-metric-data-"));
    store = openSqliteInsightSeriesStore(join(directory, "insights.db"));
    const minute = (at: number, count: number) => ({ key: KEY, minuteMs: at, count, attributions: [] });
    await store.addCounts({
      toSeq: 1,
      counts: [minute(T0 + MINUTE, 3), minute(T0 + 4 * MINUTE, 5), minute(T0 + 7 * MINUTE, 2)],
      regions: [],
    });
    list = listInsightsMetricDataOperation({ series: store, trails: new MemoryTrailStore() });
  });
  after(async () => {
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it("pages the nonzero points with NextToken, and refuses a token of other parameters", async () => {
    const first = (await list({ ...base, MaxResults: 2 }, context)).output;
    assert.deepEqual(first["Timestamps"], [(T0 + MINUTE) / 1000, (T0 + 4 * MINUTE) / 1000]);
    assert.deepEqual(first["Values"], [3, 5]);
    assert.equal(first["ErrorCode"], "AccessDenied");
    const token = first["NextToken"] as string;
    const second = (await list({ ...base, MaxResults: 2, NextToken: token }, context)).output;
    assert.deepEqual(second["Values"], [2]);
    assert.equal(second["NextToken"], undefined);
    await assert.rejects(list({ ...base, Period: 300, NextToken: token }, context), (error: ApiError) => {
      assert.equal(error.code, "InvalidParameterException");
      return true;
    });
  });

  it("fills every period with FillWithZeros, and sums 5-minute periods", async () => {
    const filled = (await list({ ...base, DataType: "FillWithZeros" }, context)).output;
    assert.deepEqual(filled["Values"], [0, 3, 0, 0, 5, 0, 0, 2, 0, 0]);
    const fives = (await list({ ...base, Period: 300, DataType: "FillWithZeros" }, context)).output;
    assert.deepEqual(fives["Values"], [8, 2]);
    assert.deepEqual(fives["Timestamps"], [T0 / 1000, (T0 + 5 * MINUTE) / 1000]);
  });

  it("answers InvalidParameterException for each bad parameter", async () => {
    const bad: Array<Record<string, unknown>> = [
      { ...base, Period: 120 },
      { ...base, ErrorCode: undefined },
      { ...base, InsightType: "ApiCallRateInsight" },
      { ...base, EventSource: "iam.example.com" },
      { ...base, EventName: "Get User" },
      { ...base, DataType: "All" },
      { ...base, MaxResults: 21_601 },
      { ...base, MaxResults: 0 },
      { ...base, StartTime: base.EndTime },
      { ...base, NextToken: "x" },
    ];
    for (const input of bad)
      await assert.rejects(list(input, context), (error: ApiError) => {
        assert.equal(error.code, "InvalidParameterException", JSON.stringify(input));
        return true;
      });
  });
});
