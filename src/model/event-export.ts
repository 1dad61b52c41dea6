import { csvLines } from "../lib/csv.js";

/**
 * The files "export all matching events" writes, the same whether the server streams them
 * (`GET /export-events`, decision 0026) or the console builds one from rows it already has: CSV with
 * Event history's columns, JSON as a trail log file (`{"Records":[…]}`), NDJSON one record a line.
 */
export type ExportFormat = "csv" | "json" | "ndjson";

export const EXPORT_MIME_TYPES: Readonly<Record<ExportFormat, string>> = {
  csv: "text/csv; charset=utf-8",
  json: "application/json",
  ndjson: "application/x-ndjson",
};

export function isExportFormat(text: unknown): text is ExportFormat {
  return typeof text === "string" && Object.hasOwn(EXPORT_MIME_TYPES, text);
}

/** One event as an export needs it: LookupEvents' fields and the stored record (text and parsed). */
export interface ExportedEvent {
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

export const EVENT_CSV_HEADER = [
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

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function eventCsvCells(event: ExportedEvent): string[] {
  return [
    event.time.toISOString(),
    event.eventName,
    event.username,
    event.eventSource,
    event.resources.map((resource) => resource.type).join(" "),
    event.resources.map((resource) => resource.name).join(" "),
    event.errorCode,
    event.readOnly,
    event.accessKeyId,
    event.eventId,
    text(event.record["awsRegion"]),
    text(event.record["sourceIPAddress"]),
    text(event.record["userAgent"]),
  ];
}

/** The record on one line: as stored when it already is (it normally is), else re-serialised. */
function oneLine(event: ExportedEvent): string {
  return /[\r\n]/.test(event.json) ? JSON.stringify(event.record) : event.json;
}

/** What a file starts with, before any event. */
export function exportHead(format: ExportFormat): string {
  return format === "csv" ? csvLines([EVENT_CSV_HEADER]) : format === "json" ? '{"Records":[\n' : "";
}

/** The text of some events; `first` says whether none was written before (JSON's separators). */
export function exportChunk(format: ExportFormat, events: readonly ExportedEvent[], first: boolean): string {
  if (format === "csv") return csvLines(events.map(eventCsvCells));
  if (format === "ndjson") return events.map((event) => `${oneLine(event)}\n`).join("");
  return events.map((event, index) => `${first && index === 0 ? "" : ",\n"}${oneLine(event)}`).join("");
}

/** What a file ends with, after the last event. */
export function exportTail(format: ExportFormat): string {
  return format === "json" ? "\n]}\n" : "";
}

const CONSOLE_AGENT = /(^|\s)cairn-console\//;

/** True when a recorded userAgent is Cairn's web console's (decision 0021). */
function isConsoleAgent(userAgent: unknown): boolean {
  return typeof userAgent === "string" && CONSOLE_AGENT.test(userAgent);
}

/**
 * Lake queries the console starts: CloudTrail records StartQuery as not read-only, yet it changes no
 * configuration; the dashboard starts one per chart, so it is the console's polling as much as a read.
 */
const CONSOLE_QUERY_CALLS = new Set(["StartQuery"]);

/**
 * One of the console's own reads or queries (its LookupEvents, Lake polling, …), recognised by its
 * user agent. Never a change: a write made from the console (StopLogging, DeleteTrail) is activity an
 * analyst must see (decision 0021).
 */
export function isOwnConsoleRead(event: ExportedEvent): boolean {
  if (!isConsoleAgent(event.record["userAgent"])) return false;
  if (event.readOnly === "true") return true;
  return event.eventSource === "cloudtrail.amazonaws.com" && CONSOLE_QUERY_CALLS.has(event.eventName);
}
