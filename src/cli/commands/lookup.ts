import {
  CloudTrailClient,
  LookupEventsCommand,
  type Event,
  type LookupAttribute,
  type LookupAttributeKey,
} from "@aws-sdk/client-cloudtrail";
import Table from "cli-table3";
import type { ClientSettings } from "../../client/client-settings.js";
import { systemClock } from "../../lib/clock.js";
import type { Output } from "../output.js";
import { parseTimeArgument } from "../time-argument.js";
import { UsageError } from "../usage-error.js";

/** The keys LookupEvents accepts (spec §4.1), checked here so a typo fails before any request. */
const ATTRIBUTE_KEYS: readonly LookupAttributeKey[] = [
  "EventId",
  "EventName",
  "ReadOnly",
  "Username",
  "ResourceType",
  "ResourceName",
  "EventSource",
  "AccessKeyId",
];

export interface LookupOptions {
  readonly client: ClientSettings;
  /** `Key=Value` strings; several are sent as several LookupAttributes, which Cairn ANDs. */
  readonly attributes?: readonly string[];
  /** ISO-8601, epoch seconds, `now`, or relative (`-15m`, `-2h`, `-7d`). */
  readonly startTime?: string;
  readonly endTime?: string;
  /** Page size sent as MaxResults (1–50). */
  readonly maxResults?: number;
  /** Stop after this many events in total; all pages when absent. */
  readonly maxItems?: number;
  /** Print the raw Events array instead of a table. */
  readonly json?: boolean;
  readonly stdout: Output;
  readonly nowMs?: number;
}

/**
 * `cairn lookup`: calls LookupEvents through the AWS SDK, following NextToken until the results or
 * `maxItems` run out, then prints a table (or JSON). Throws on invalid arguments and on API errors.
 *
 * @example
 * await runLookup({ client, attributes: ["EventName=CreateTrail"], startTime: "-1h", stdout: process.stdout });
 */
export async function runLookup(options: LookupOptions): Promise<Event[]> {
  const nowMs = options.nowMs ?? systemClock.nowMs();
  const lookupAttributes = (options.attributes ?? []).map(parseAttribute);
  const startTime = options.startTime === undefined ? undefined : parseTime("--start-time", options.startTime, nowMs);
  const endTime = options.endTime === undefined ? undefined : parseTime("--end-time", options.endTime, nowMs);
  checkCount("--max-results", options.maxResults, 50, "an integer 1–50");
  checkCount("--max-items", options.maxItems, Number.MAX_SAFE_INTEGER, "a positive integer");

  const { credentials } = options.client;
  const client = new CloudTrailClient({
    endpoint: options.client.endpointUrl,
    region: options.client.region,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    },
  });
  const events: Event[] = [];
  try {
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new LookupEventsCommand({
          ...(lookupAttributes.length > 0 ? { LookupAttributes: lookupAttributes } : {}),
          ...(startTime ? { StartTime: startTime } : {}),
          ...(endTime ? { EndTime: endTime } : {}),
          ...(options.maxResults !== undefined ? { MaxResults: options.maxResults } : {}),
          ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
        }),
      );
      events.push(...(page.Events ?? []));
      nextToken = page.NextToken;
    } while (nextToken !== undefined && (options.maxItems === undefined || events.length < options.maxItems));
  } finally {
    client.destroy();
  }
  const shown = options.maxItems === undefined ? events : events.slice(0, options.maxItems);
  options.stdout.write(options.json ? JSON.stringify(shown, null, 2) + "\n" : formatEventsTable(shown));
  return shown;
}

export function parseAttribute(text: string): LookupAttribute {
  const equals = text.indexOf("=");
  const key = equals === -1 ? text : text.slice(0, equals);
  if (equals === -1 || !(ATTRIBUTE_KEYS as readonly string[]).includes(key)) {
    throw new UsageError(
      `--attribute: must be Key=Value with Key one of ${ATTRIBUTE_KEYS.join(", ")} (got ${JSON.stringify(text)})`,
    );
  }
  return { AttributeKey: key as LookupAttributeKey, AttributeValue: text.slice(equals + 1) };
}

function parseTime(flag: string, text: string, nowMs: number): Date {
  try {
    return parseTimeArgument(text, nowMs);
  } catch (error) {
    throw new UsageError(`${flag}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function checkCount(flag: string, value: number | undefined, maximum: number, mustBe: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > maximum)) {
    throw new UsageError(`${flag}: must be ${mustBe} (got ${JSON.stringify(value)})`);
  }
}

/** The table `cairn lookup` prints: one row per event, newest first as the server returns them. */
export function formatEventsTable(events: readonly Event[]): string {
  if (events.length === 0) return "No events found.\n";
  const table = new Table({
    head: ["Time", "Event name", "Source", "Username", "Read-only", "Error code", "Event ID"],
    // No colours: the output is often piped or pasted, where escape codes are noise.
    style: { head: [], border: [] },
  });
  for (const event of events) {
    table.push([
      event.EventTime ? event.EventTime.toISOString().replace(/\.\d{3}Z$/, "Z") : "",
      event.EventName ?? "",
      event.EventSource ?? "",
      event.Username ?? "",
      event.ReadOnly ?? "",
      errorCodeOf(event.CloudTrailEvent),
      event.EventId ?? "",
    ]);
  }
  return table.toString() + "\n";
}

/** LookupEvents has no error field of its own; the record inside CloudTrailEvent carries it. */
function errorCodeOf(cloudTrailEvent: string | undefined): string {
  if (cloudTrailEvent === undefined) return "";
  try {
    const record = JSON.parse(cloudTrailEvent) as { errorCode?: unknown };
    return typeof record.errorCode === "string" ? record.errorCode : "";
  } catch {
    return "";
  }
}
