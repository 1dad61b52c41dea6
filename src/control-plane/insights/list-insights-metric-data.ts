/** ListInsightsMetricData (spec §8.3): an API's call or error counts per period, from the Insights series. */
import { createHash } from "node:crypto";
import { ApiError } from "../../lib/api-error.js";
import {
  METRIC_PERIODS,
  type InsightSeriesStore,
  type InsightType,
  type MetricPeriod,
  type MetricPoint,
  type SeriesKey,
} from "../../stores/insights/index.js";
import type { TrailStore } from "../../stores/trails/index.js";
import { optionalInteger, optionalString, optionalTimestampMs } from "../input.js";
import type { OperationContext, OperationHandler } from "../operation.js";
import { resolveTrail } from "../trails/trail-input.js";

const DAY_MS = 86_400_000;
const DEFAULT_RANGE_MS = 90 * DAY_MS;
const MAX_RESULTS_MAX = 21_600;
const NEXT_TOKEN_CHARS_MAX = 5000;
const EVENT_SOURCE = /^[a-z0-9_-]+\.amazonaws\.com$/;
const EVENT_NAME = /^[A-Za-z0-9_]+$/;
const ERROR_CODE = /^[\w\s_.,\-:[\]]+$/;

export interface ListInsightsMetricDataDeps {
  readonly series: Pick<InsightSeriesStore, "points">;
  readonly trails: TrailStore;
}

function invalid(message: string): ApiError {
  return new ApiError("InvalidParameterException", message);
}

function requiredMatching(input: Record<string, unknown>, member: string, pattern: RegExp, max: number): string {
  const value = optionalString(input, member);
  if (value === undefined || value === "") throw invalid(`${member} is required.`);
  if (value.length > max || !pattern.test(value))
    throw invalid(`${member} must match ${pattern.source} and have at most ${max} characters.`);
  return value;
}

interface Query {
  readonly key: SeriesKey;
  readonly period: MetricPeriod;
  readonly fill: boolean;
  /** First period start of the answer (inclusive), and the end (exclusive). */
  readonly fromMs: number;
  readonly toMs: number;
  readonly maxResults: number;
}

function readSeriesKey(input: Record<string, unknown>, context: OperationContext): SeriesKey {
  const eventSource = requiredMatching(input, "EventSource", EVENT_SOURCE, 256);
  const eventName = requiredMatching(input, "EventName", EVENT_NAME, 128);
  const insightType = optionalString(input, "InsightType");
  if (insightType !== "ApiCallRateInsight" && insightType !== "ApiErrorRateInsight")
    throw invalid("InsightType must be ApiCallRateInsight or ApiErrorRateInsight.");
  const errorCode = optionalString(input, "ErrorCode");
  if (insightType === "ApiErrorRateInsight" && (errorCode === undefined || errorCode === ""))
    throw invalid("ErrorCode is required when InsightType is ApiErrorRateInsight.");
  if (insightType === "ApiCallRateInsight" && errorCode !== undefined)
    throw invalid("ErrorCode applies only to ApiErrorRateInsight.");
  if (errorCode !== undefined && (errorCode.length > 128 || !ERROR_CODE.test(errorCode)))
    throw invalid("ErrorCode must match ^[\\w\\d\\s_.,\\-:\\[\\]]+$ and have at most 128 characters.");
  const { accountId, region } = context;
  return {
    accountId,
    region,
    insightType: insightType as InsightType,
    eventSource,
    eventName,
    errorCode: errorCode ?? "",
  };
}

/**
 * With `TrailName` the data-event series (as AWS answers it: the parameter is "only provided to
 * fetch Insights metrics data generated on trails logging data events"); without, the management ones.
 */
function readQuery(input: Record<string, unknown>, context: OperationContext): Query {
  const managementKey = readSeriesKey(input, context);
  const key: SeriesKey =
    optionalString(input, "TrailName") === undefined ? managementKey : { ...managementKey, eventCategory: "Data" };
  const period = optionalInteger(input, "Period") ?? 3600;
  if (!(METRIC_PERIODS as readonly number[]).includes(period)) throw invalid("Period must be 60, 300 or 3600.");
  const dataType = optionalString(input, "DataType") ?? "NonZeroData";
  if (dataType !== "FillWithZeros" && dataType !== "NonZeroData")
    throw invalid("DataType must be FillWithZeros or NonZeroData.");
  const maxResults = optionalInteger(input, "MaxResults") ?? MAX_RESULTS_MAX;
  if (maxResults < 1 || maxResults > MAX_RESULTS_MAX) throw invalid(`MaxResults must be 1–${MAX_RESULTS_MAX}.`);
  const endMs = optionalTimestampMs(input, "EndTime", "InvalidParameterException") ?? context.nowMs;
  const startMs = optionalTimestampMs(input, "StartTime", "InvalidParameterException") ?? endMs - DEFAULT_RANGE_MS;
  if (startMs >= endMs) throw invalid("StartTime must be before EndTime.");
  const width = period * 1000;
  // Points are period-aligned: the first one counted starts at or after StartTime.
  const fromMs = Math.ceil(startMs / width) * width;
  return { key, period: period as MetricPeriod, fill: dataType === "FillWithZeros", fromMs, toMs: endMs, maxResults };
}

/** The token names where the next page starts, and the query it belongs to (a token of another query is refused). */
function tokenFingerprint(query: Query): string {
  return createHash("sha256")
    .update(JSON.stringify([query.key, query.period, query.fill, query.fromMs, query.toMs]))
    .digest("base64url")
    .slice(0, 16);
}

function readNextToken(input: Record<string, unknown>, query: Query): number {
  const token = optionalString(input, "NextToken");
  if (token === undefined) return query.fromMs;
  const match = /^(\d{1,16})\.([A-Za-z0-9_-]{16})$/.exec(token);
  const resumeMs = match === null ? Number.NaN : Number(match[1]);
  if (token.length > NEXT_TOKEN_CHARS_MAX || match === null || match[2] !== tokenFingerprint(query))
    throw invalid("NextToken is invalid or belongs to other parameters.");
  if (resumeMs < query.fromMs || resumeMs >= query.toMs) throw invalid("NextToken is invalid.");
  return resumeMs;
}

/** One page: the points (or every period, zeros included) from `resumeMs`, and where the next page starts. */
async function page(
  deps: ListInsightsMetricDataDeps,
  query: Query,
  resumeMs: number,
): Promise<{ points: MetricPoint[]; nextMs?: number }> {
  const stored = await deps.series.points(query.key, query.period, resumeMs, query.toMs, query.maxResults + 1);
  if (!query.fill) {
    const more = stored.length > query.maxResults;
    const points = stored.slice(0, query.maxResults);
    return more ? { points, nextMs: stored[query.maxResults]!.timeMs } : { points };
  }
  const counts = new Map(stored.map((point) => [point.timeMs, point.count]));
  const width = query.period * 1000;
  const points: MetricPoint[] = [];
  // Both the first period and a token's resume point are period starts.
  let timeMs = resumeMs;
  for (; timeMs < query.toMs && points.length < query.maxResults; timeMs += width)
    points.push({ timeMs, count: counts.get(timeMs) ?? 0 });
  return timeMs < query.toMs ? { points, nextMs: timeMs } : { points };
}

export function listInsightsMetricDataOperation(deps: ListInsightsMetricDataDeps): OperationHandler {
  return async function listInsightsMetricData(input: Record<string, unknown>, context: OperationContext) {
    const query = readQuery(input, context);
    const trailName = optionalString(input, "TrailName");
    const trail =
      trailName === undefined
        ? undefined
        : await resolveTrail(deps.trails, input, "TrailName", context, { mutating: false });
    // AWS: with TrailName the call also needs cloudtrail:ListInsightsData on the trail.
    if (trail !== undefined) await context.authorize("cloudtrail:ListInsightsData", trail.trailArn);
    const { points, nextMs } = await page(deps, query, readNextToken(input, query));
    const { key } = query;
    return {
      output: {
        ...(trail !== undefined ? { TrailARN: trail.trailArn } : {}),
        EventSource: key.eventSource,
        EventName: key.eventName,
        InsightType: key.insightType,
        ...(key.errorCode !== "" ? { ErrorCode: key.errorCode } : {}),
        Timestamps: points.map((point) => point.timeMs / 1000),
        Values: points.map((point) => point.count),
        ...(nextMs !== undefined ? { NextToken: `${nextMs}.${tokenFingerprint(query)}` } : {}),
      },
    };
  };
}
