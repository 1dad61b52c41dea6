import type { ExportedEvent } from "../../model/event-export.js";
import type { LookupEvent } from "./event-history.js";

/** A stored record as an object; a damaged one (never stored so, but read defensively) as an empty one. */
export function parseRecordJson(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A LookupEvents event as an export writes it (and Event history shows it), its record parsed once. */
export function exportedEventOf(event: LookupEvent, record = parseRecordJson(event.CloudTrailEvent)): ExportedEvent {
  const errorCode = record["errorCode"];
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
    errorCode: typeof errorCode === "string" ? errorCode : "",
    json: event.CloudTrailEvent,
    record,
  };
}
