/**
 * What a journal batch adds to the Insights series (decision 0019, point 1): per account, region and
 * minute of eventTime, write management calls per API and errored management calls per API and error
 * code, with who made them; and how far each account and region's eventTime went.
 */
import type { JournalEntry } from "../../journal/journal.js";
import { recordAccountId, type CloudTrailRecord } from "../../model/record.js";
import {
  MINUTE_MS,
  seriesId,
  type AttributeName,
  type InsightType,
  type MinuteCount,
  type RegionActivity,
  type SeriesKey,
} from "../../stores/insights/index.js";

/** CloudTrail truncates userAgent and errorCode at 1 KB (spec §1.7); an attribution value never exceeds it. */
const VALUE_CHARS_MAX = 1024;

/** The string CloudTrail's attributions use for calls without an error code (spec §8.2). */
const NO_ERROR = "null";

interface MinuteTally {
  key: SeriesKey;
  minuteMs: number;
  count: number;
  readonly values: Map<string, { attribute: AttributeName; value: string; count: number }>;
}

/** Management events only: data, network activity, Lake-only kinds and Insights records are not counted. */
function isCountedManagementEvent(record: CloudTrailRecord): boolean {
  if (record.eventType === "AwsCloudTrailInsight") return false;
  if (record.eventCategory !== undefined && record.eventCategory !== "Management") return false;
  return record.managementEvent !== false;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value.slice(0, VALUE_CHARS_MAX) : undefined;
}

function parse(entry: JournalEntry): CloudTrailRecord | undefined {
  try {
    const value: unknown = JSON.parse(entry.json);
    return typeof value === "object" && value !== null ? (value as CloudTrailRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Counts a batch; never throws, so no record can hold the consumer up. */
export function countBatch(
  batch: readonly JournalEntry[],
  nowMs: number,
): { counts: MinuteCount[]; regions: RegionActivity[] } {
  const tallies = new Map<string, MinuteTally>();
  const regions = new Map<string, RegionActivity>();
  for (const entry of batch) {
    const record = parse(entry);
    if (record === undefined || record.eventType === "AwsCloudTrailInsight") continue;
    const accountId = text(recordAccountId(record));
    const region = text(record.awsRegion);
    const timeMs = typeof record.eventTime === "string" ? Date.parse(record.eventTime) : Number.NaN;
    if (accountId === undefined || region === undefined || !Number.isFinite(timeMs)) continue;
    noteActivity(regions, accountId, region, timeMs, nowMs);
    if (!isCountedManagementEvent(record)) continue;
    const eventSource = text(record.eventSource);
    const eventName = text(record.eventName);
    if (eventSource === undefined || eventName === undefined) continue;
    const minuteMs = Math.floor(timeMs / MINUTE_MS) * MINUTE_MS;
    const errorCode = text(record.errorCode);
    const base = { accountId, region, eventSource, eventName };
    const types: Array<[InsightType, string]> = [];
    if (record.readOnly === false) types.push(["ApiCallRateInsight", ""]);
    if (errorCode !== undefined) types.push(["ApiErrorRateInsight", errorCode]);
    for (const [insightType, code] of types)
      tally(tallies, { ...base, insightType, errorCode: code }, minuteMs, record, errorCode ?? NO_ERROR);
  }
  return {
    counts: [...tallies.values()].map(({ key, minuteMs, count, values }) => ({
      key,
      minuteMs,
      count,
      attributions: [...values.values()],
    })),
    regions: [...regions.values()],
  };
}

function noteActivity(
  regions: Map<string, RegionActivity>,
  accountId: string,
  region: string,
  timeMs: number,
  nowMs: number,
): void {
  const id = JSON.stringify([accountId, region]);
  const seen = regions.get(id);
  regions.set(id, {
    accountId,
    region,
    newestEventMs: Math.max(seen?.newestEventMs ?? -Infinity, timeMs),
    oldestEventMs: Math.min(seen?.oldestEventMs ?? Infinity, timeMs),
    lastArrivalMs: nowMs,
  });
}

function tally(
  tallies: Map<string, MinuteTally>,
  key: SeriesKey,
  minuteMs: number,
  record: CloudTrailRecord,
  errorCode: string,
): void {
  const id = `${seriesId(key)}\n${minuteMs}`;
  let minute = tallies.get(id);
  if (minute === undefined) {
    minute = { key, minuteMs, count: 0, values: new Map() };
    tallies.set(id, minute);
  }
  minute.count++;
  const attributions: Array<[AttributeName, string | undefined]> = [
    ["userIdentityArn", text(record.userIdentity?.arn)],
    ["userAgent", text(record.userAgent)],
    ["errorCode", errorCode],
  ];
  for (const [attribute, value] of attributions) {
    if (value === undefined) continue;
    const valueId = `${attribute}\n${value}`;
    const counted = minute.values.get(valueId);
    if (counted === undefined) minute.values.set(valueId, { attribute, value, count: 1 });
    else counted.count++;
  }
}
