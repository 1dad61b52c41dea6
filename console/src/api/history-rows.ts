import type { Event as SdkEvent } from "@aws-sdk/client-cloudtrail";
import { classifyRecord, lookupEventFromRecord } from "../../../src/consumers/event-history/derive.js";
import { eventHasAttribute } from "../../../src/consumers/event-history/posting-key.js";
import type { LookupAttributeKey } from "../../../src/consumers/event-history/event-history.js";
import { exportedEventOf, parseRecordJson } from "../../../src/consumers/event-history/exported-event.js";
import type { CloudTrailRecord } from "../../../src/model/record.js";
import { isOwnConsoleRead, type ExportedEvent } from "../../../src/model/event-export.js";

/** One Event history row, whether it came from LookupEvents or from the live stream: what an export writes. */
export type HistoryRow = ExportedEvent;

export interface AttributeFilter {
  readonly key: LookupAttributeKey;
  readonly value: string;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function rowFromSdkEvent(event: SdkEvent): HistoryRow {
  const json = event.CloudTrailEvent ?? "{}";
  const record = parseRecordJson(json);
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
  const record = parseRecordJson(json);
  if (typeof record["eventID"] !== "string") return undefined;
  const typed = record as CloudTrailRecord;
  if (classifyRecord(typed) !== "management" || typed.awsRegion !== region) return undefined;
  const event = lookupEventFromRecord(json, typed);
  if (!filters.every((filter) => eventHasAttribute(event, filter.key, filter.value))) return undefined;
  return exportedEventOf(event, record);
}

export { EVENT_CSV_HEADER as CSV_HEADER, eventCsvCells as csvCells } from "../../../src/model/event-export.js";

/** The rows to show and how many of the console's own reads and queries were left out. */
export function withoutOwnReads(rows: HistoryRow[], hide: boolean): { rows: HistoryRow[]; hidden: number } {
  if (!hide) return { rows, hidden: 0 };
  const kept = rows.filter((row) => !isOwnConsoleRead(row));
  return { rows: kept, hidden: rows.length - kept.length };
}
