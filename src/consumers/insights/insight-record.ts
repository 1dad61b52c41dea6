/**
 * The Insights records (spec §8.2): a Start and an End sharing `sharedEventID`, with the statistics and
 * attributions of decision 0019, point 5. Their identity (dedup key, eventID, sharedEventID) is derived
 * from the series and the anomaly's start minute, so judging the same minutes again gives the same.
 */
import { createHash } from "node:crypto";
import type { JournalAppendItem } from "../../journal/journal.js";
import { toEventTime } from "../../lib/clock.js";
import { SELF_AUDIT_PROVENANCE } from "../../model/provenance.js";
import {
  ATTRIBUTES,
  MINUTE_MS,
  type AttributionCount,
  type OpenAnomaly,
  type SeriesKey,
} from "../../stores/insights/index.js";
import { durationMinutes } from "./detector.js";

/** Values per attribute and list (spec §8.2: "up to 5 top contributors"). */
const TOP_VALUES = 5;
const EVENT_VERSION = "1.08";

export type InsightState = "Start" | "End";

/** A UUID-shaped id from the SHA-256 of `text` (version 4 and variant bits set, as UUIDs are read). */
function uuidOf(text: string): string {
  const bytes = createHash("sha256").update(text).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The anomaly's identity; its own key space (`insights:`), apart from every capture path's (decision
 * 0002). A data-event anomaly's ends in "Data", so it never shares a key with the management one.
 */
function anomalyKey(key: SeriesKey, startMs: number): string {
  const { accountId, region, insightType, eventSource, eventName, errorCode } = key;
  const id = [accountId, region, insightType, eventSource, eventName, errorCode, startMs];
  return `insights:${JSON.stringify(key.eventCategory === "Data" ? [...id, "Data"] : id)}`;
}

export function sharedEventIdOf(key: SeriesKey, startMs: number): string {
  return uuidOf(anomalyKey(key, startMs));
}

/** Six significant digits, as AWS's examples print them (9.82222E-5). */
function rounded(value: number): number {
  return Number(value.toPrecision(6));
}

function top(totals: readonly AttributionCount[], attribute: string, minutes: number) {
  return totals
    .filter((total) => total.attribute === attribute)
    .map((total) => ({ value: total.value, average: total.count / minutes }))
    .sort((a, b) => b.average - a.average || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
    .slice(0, TOP_VALUES)
    .map(({ value, average }) => ({ value, average: rounded(average) }));
}

export interface InsightRecordInput {
  readonly key: SeriesKey;
  readonly state: InsightState;
  readonly anomaly: OpenAnomaly;
  readonly baselineMinutes: number;
  /** Calls per attribute and value during the anomaly's minutes the record covers (insightWindow). */
  readonly insightTotals: readonly AttributionCount[];
  /** The same over the baseline before the start. */
  readonly baselineTotals: readonly AttributionCount[];
}

/** The minutes a record's `insight` figures cover: the start minute (Start), or start through last hot minute (End). */
export function insightWindow(state: InsightState, anomaly: OpenAnomaly): { fromMs: number; toMs: number } {
  const toMs = state === "Start" ? anomaly.startMs + MINUTE_MS : anomaly.lastHotMs + MINUTE_MS;
  return { fromMs: anomaly.startMs, toMs };
}

/** The record, ready for the journal with its dedup key, in CloudTrail's field order (spec §8.2). */
export function insightRecordItem(input: InsightRecordInput): JournalAppendItem {
  const { key, state, anomaly, baselineMinutes } = input;
  const minutes = state === "Start" ? 1 : durationMinutes(anomaly);
  const dedupKey = `${anomalyKey(key, anomaly.startMs)}:${state}`;
  const eventTimeMs = state === "Start" ? anomaly.startMs : anomaly.lastHotMs + MINUTE_MS;
  const record = {
    eventVersion: EVENT_VERSION,
    eventTime: toEventTime(eventTimeMs),
    awsRegion: key.region,
    eventID: uuidOf(dedupKey),
    eventType: "AwsCloudTrailInsight",
    recipientAccountId: key.accountId,
    sharedEventID: anomaly.sharedEventId,
    insightDetails: {
      state,
      eventSource: key.eventSource,
      eventName: key.eventName,
      insightType: key.insightType,
      ...(key.errorCode !== "" ? { errorCode: key.errorCode } : {}),
      // No AWS field says which events an Insight is about; Cairn's own marks data-event Insights (decision 0019).
      ...(key.eventCategory === "Data" ? { eventCategory: "Data" } : {}),
      insightContext: {
        statistics: {
          baseline: { average: rounded(anomaly.baselineAverage) },
          insight: { average: rounded(anomaly.callsToLastHot / minutes) },
          insightDuration: minutes,
          baselineDuration: baselineMinutes,
        },
        attributions: ATTRIBUTES.map((attribute) => ({
          attribute,
          insight: top(input.insightTotals, attribute, minutes),
          baseline: top(input.baselineTotals, attribute, baselineMinutes),
        })),
      },
    },
    eventCategory: "Insight",
  };
  return { json: JSON.stringify(record), dedupKey, provenance: SELF_AUDIT_PROVENANCE };
}
