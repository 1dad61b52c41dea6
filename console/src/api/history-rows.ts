import type { Event as SdkEvent } from "@aws-sdk/client-cloudtrail";
import { classifyRecord, lookupEventFromRecord } from "../../../src/consumers/event-history/derive.js";
import { eventHasAttribute } from "../../../src/consumers/event-history/posting-key.js";
import type { LookupAttributeKey, LookupEvent } from "../../../src/consumers/event-history/event-history.js";
import type { CloudTrailRecord } from "../../../src/model/record.js";
import { isConsoleAgent } from "./user-agent.js";

/** One Event history row, whether it came from LookupEvents or from the live stream. */
export interface HistoryRow {
  readonly eventId: string;
  readonly time: Date;
  readonly eventName: string;
  readonly eventSource: string;
  readonly username: string;
  readonly resources: readonly { type: string; name: string }[];
  readonly readOnly: string;
  readonly accessKeyId: string;
  readonly errorCode: string;
  /** The record exactly as stored (LookupEvents' CloudTrailEvent). */
  readonly json: string;
  readonly record: Record<string, unknown>;
}

export interface AttributeFilter {
  readonly key: LookupAttributeKey;
  readonly value: string;
}

function parseRecord(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function rowFromSdkEvent(event: SdkEvent): HistoryRow {
  const json = event.CloudTrailEvent ?? "{}";
  const record = parseRecord(json);
  return {
    eventId: event.EventId ?? "",
    time: event.EventTime ?? new Date(0),
    eventName: event.EventName ?? "",
    eventSource: event.EventSource ?? "",
    username: event.Username ?? "",
    resources: (event.Resources ?? []).map((resource) => ({
      type: resource.ResourceType ?? "",
      name: resource.ResourceName ?? "",
    })),
    readOnly: event.ReadOnly ?? "",
    accessKeyId: event.AccessKeyId ?? "",
    errorCode: text(record["errorCode"]),
    json,
    record,
  };
}

function rowFromLookupEvent(event: LookupEvent, record: Record<string, unknown>): HistoryRow {
  return {
    eventId: event.EventId,
    time: new Date(event.EventTime * 1000),
    eventName: event.EventName,
    eventSource: event.EventSource,
    username: event.Username ?? "",
    resources: event.Resources.map((resource) => ({
      type: resource.ResourceType ?? "",
      name: resource.ResourceName ?? "",
    })),
    readOnly: event.ReadOnly ?? "",
    accessKeyId: event.AccessKeyId ?? "",
    errorCode: text(record["errorCode"]),
    json: event.CloudTrailEvent,
    record,
  };
}

/**
 * A live-stream record as Event history would show it, or undefined when the filters (or Event
 * history's own rules: management events of this region) exclude it. Uses the server's derivation,
 * so live rows and looked-up rows never disagree.
 */
export function rowFromLiveRecord(
  json: string,
  region: string,
  filters: readonly AttributeFilter[],
): HistoryRow | undefined {
  const record = parseRecord(json);
  if (typeof record["eventID"] !== "string") return undefined;
  const typed = record as CloudTrailRecord;
  if (classifyRecord(typed) !== "management" || typed.awsRegion !== region) return undefined;
  const event = lookupEventFromRecord(json, typed);
  if (!filters.every((filter) => eventHasAttribute(event, filter.key, filter.value))) return undefined;
  return rowFromLookupEvent(event, record);
}

export const CSV_HEADER = [
  "eventTime",
  "eventName",
  "username",
  "eventSource",
  "resourceTypes",
  "resourceNames",
  "errorCode",
  "readOnly",
  "accessKeyId",
  "eventId",
  "awsRegion",
  "sourceIPAddress",
  "userAgent",
];

export function csvCells(row: HistoryRow): string[] {
  return [
    row.time.toISOString(),
    row.eventName,
    row.username,
    row.eventSource,
    row.resources.map((resource) => resource.type).join(" "),
    row.resources.map((resource) => resource.name).join(" "),
    row.errorCode,
    row.readOnly,
    row.accessKeyId,
    row.eventId,
    text(row.record["awsRegion"]),
    text(row.record["sourceIPAddress"]),
    text(row.record["userAgent"]),
  ];
}

/**
 * Lake queries the console starts: CloudTrail records StartQuery as not read-only, yet it changes no
 * configuration; the dashboard starts one per chart, so it is the console's polling as much as a read.
 */
const CONSOLE_QUERY_CALLS = new Set(["StartQuery"]);

/**
 * One of this console's own reads or queries (its LookupEvents, Lake polling, …), recognised by its
 * user agent. Never a change: a write made from the console (StopLogging, DeleteTrail) is activity an
 * analyst must see.
 */
function isOwnConsoleRead(row: HistoryRow): boolean {
  if (!isConsoleAgent(row.record["userAgent"])) return false;
  if (row.readOnly === "true") return true;
  return row.eventSource === "cloudtrail.amazonaws.com" && CONSOLE_QUERY_CALLS.has(row.eventName);
}

/** The rows to show and how many of the console's own reads and queries were left out. */
export function withoutOwnReads(rows: HistoryRow[], hide: boolean): { rows: HistoryRow[]; hidden: number } {
  if (!hide) return { rows, hidden: 0 };
  const kept = rows.filter((row) => !isOwnConsoleRead(row));
  return { rows: kept, hidden: rows.length - kept.length };
}
