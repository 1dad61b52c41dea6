/**
 * What a journal batch adds to the Insights series (decision 0019, points 1 and 9): per account,
 * region and minute of eventTime, write management calls (every data call) per API and errored calls
 * per API and error code, management and data events apart, with who made them; and how far each
 * account and region's eventTime went.
 */
import { nulFree } from "../../lib/nul-free-text.js";
import type { JournalEntry } from "../../journal/journal.js";
import { recordAccountId, type CloudTrailRecord } from "../../model/record.js";
import {
  MINUTE_MS,
  seriesId,
  type AttributeName,
  type InsightCategory,
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

/**
 * Management and data events are counted, each in series of their own; network activity, Lake-only
 * kinds and Insights records are not. A record before eventCategory (1.07) is a data event when it
 * says it is no management event.
 */
function countedCategory(record: CloudTrailRecord): InsightCategory | undefined {
  if (record.eventType === "AwsCloudTrailInsight") return undefined;
  if (record.eventCategory === "Data") return "Data";
  if (record.eventCategory !== undefined && record.eventCategory !== "Management") return undefined;
  if (record.managementEvent === false) return record.eventCategory === undefined ? "Data" : undefined;
  return "Management";
}

/**
 * The series a call counts in (decision 0019, points 1 and 9): ApiCallRateInsight counts write
 * management calls and every data call, read or write; ApiErrorRateInsight every call with an error code.
 */
function typesOf(input: CountInput, errorCode: string | undefined) {
  const types: Array<[InsightType, string]> = [];
  if (input.category === "Data" || input.readOnlyFalse) types.push(["ApiCallRateInsight", ""]);
  if (errorCode !== undefined) types.push(["ApiErrorRateInsight", errorCode]);
  return types;
}

/**
 * A record's string as a series key or attribution value. NUL becomes U+FFFD, as in the quarantine:
 * PostgreSQL text cannot hold NUL, and both backends must count the same series.
 */
function text(value: unknown): string | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  return nulFree(value.slice(0, VALUE_CHARS_MAX));
}

function parse(entry: JournalEntry): CloudTrailRecord | undefined {
  try {
    const value: unknown = JSON.parse(entry.json);
    return typeof value === "object" && value !== null ? (value as CloudTrailRecord) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What counting reads of a record, read once: from the record the ingest path had parsed anyway
 * (count-inputs.ts), or from the entry's text here. A compact projection, so that holding it from the
 * append until the batch is counted keeps no record alive (decision 0020, third slice).
 */
export interface CountInput {
  readonly accountId: string;
  readonly region: string;
  readonly timeMs: number;
  /** Undefined: activity of the region, not counted in a series. */
  readonly category: InsightCategory | undefined;
  readonly eventSource: string | undefined;
  readonly eventName: string | undefined;
  readonly errorCode: string | undefined;
  readonly readOnlyFalse: boolean;
  readonly userIdentityArn: string | undefined;
  readonly userAgent: string | undefined;
}

/** The record's count input; undefined when it counts nowhere (not a record, an Insights record, no account, region or time). */
export function countInputOf(value: unknown): CountInput | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as CloudTrailRecord;
  if (record.eventType === "AwsCloudTrailInsight") return undefined;
  const accountId = text(recordAccountId(record));
  const region = text(record.awsRegion);
  const timeMs = typeof record.eventTime === "string" ? Date.parse(record.eventTime) : Number.NaN;
  if (accountId === undefined || region === undefined || !Number.isFinite(timeMs)) return undefined;
  return {
    accountId,
    region,
    timeMs,
    category: countedCategory(record),
    eventSource: text(record.eventSource),
    eventName: text(record.eventName),
    errorCode: text(record.errorCode),
    readOnlyFalse: record.readOnly === false,
    userIdentityArn: text(record.userIdentity?.arn),
    userAgent: text(record.userAgent),
  };
}

/** Count inputs known before the batch is read: an input, null for a record that counts nowhere, undefined when not known. */
export type KnownCountInputs = (seq: number) => CountInput | null | undefined;

/** Counts a batch; never throws, so no record can hold the consumer up. */
export function countBatch(
  batch: readonly JournalEntry[],
  nowMs: number,
  known?: KnownCountInputs,
): { counts: MinuteCount[]; regions: RegionActivity[] } {
  const tallies = new Map<string, MinuteTally>();
  const regions = new Map<string, RegionActivity>();
  for (const entry of batch) {
    const given = known?.(entry.seq);
    const input = given === undefined ? countInputOf(parse(entry)) : given;
    if (input === undefined || input === null) continue;
    const { accountId, region, timeMs, category, eventSource, eventName, errorCode } = input;
    noteActivity(regions, accountId, region, timeMs, nowMs);
    if (category === undefined || eventSource === undefined || eventName === undefined) continue;
    const minuteMs = Math.floor(timeMs / MINUTE_MS) * MINUTE_MS;
    const base = {
      accountId,
      region,
      eventSource,
      eventName,
      ...(category === "Data" ? { eventCategory: "Data" as const } : {}),
    };
    for (const [insightType, code] of typesOf(input, errorCode))
      tally(tallies, { ...base, insightType, errorCode: code }, minuteMs, input, errorCode ?? NO_ERROR);
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
  input: CountInput,
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
    ["userIdentityArn", input.userIdentityArn],
    ["userAgent", input.userAgent],
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
