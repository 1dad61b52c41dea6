import { deriveUsername } from "../../../src/consumers/event-history/derive.js";
import type { LookupAttributeKey } from "../../../src/consumers/event-history/event-history.js";
import type { UserIdentity } from "../../../src/model/record.js";
import { historyQueryString } from "./history-query.js";
import type { TimeRangeValue } from "../components/time-range.js";

/**
 * Lake result cells that lead to Event history: an event ID to that event, and the values Event
 * history can search by (LookupEvents' attributes) to the events with that value. Source IP, region
 * or error code are not LookupEvents attributes, so those cells link nowhere.
 */
export type CellLink = (row: readonly string[]) => string | undefined;

/** What a value of a column means to LookupEvents, by the column's last name segment, any case. */
const ATTRIBUTE_OF_COLUMN: Readonly<Record<string, LookupAttributeKey>> = {
  eventid: "EventId",
  eventname: "EventName",
  eventsource: "EventSource",
  username: "Username",
  accesskeyid: "AccessKeyId",
  resourcename: "ResourceName",
  resourcetype: "ResourceType",
};

/** Where around an event's time its Event history link looks, so it finds an event of any age still indexed. */
const EVENT_WINDOW_MS = 60_000;

/** The default Event history window for a pivot: the last 90 days, as the AWS console offers. */
const PIVOT_RANGE: TimeRangeValue = { mode: "90d", start: "", end: "" };

/** `userIdentity.arn` → "arn", `"eventID"` → "eventid". */
function columnKey(name: string): string {
  const bare = name.trim().replace(/"/g, "").toLowerCase();
  return bare.slice(bare.lastIndexOf(".") + 1);
}

/** The identity type an ARN names, so Event history's user name is derived as it is for the record. */
function identityOfArn(arn: string): UserIdentity | undefined {
  if (!arn.startsWith("arn:")) return undefined;
  if (/:root$/.test(arn)) return { type: "Root", arn };
  if (arn.includes(":assumed-role/")) return { type: "AssumedRole", arn };
  if (arn.includes(":federated-user/")) return { type: "FederatedUser", arn };
  if (arn.includes(":user/")) return { type: "IAMUser", arn };
  return undefined;
}

/** An instant from a Lake timestamp text ("2023-05-01 12:27:00.000", ISO with or without zone, UTC). */
function instantOf(text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  const iso = text.trim().replace(" ", "T");
  const ms = Date.parse(/(Z|[+-]\d\d:?\d\d)$/.test(iso) ? iso : `${iso}Z`);
  return Number.isFinite(ms) ? ms : undefined;
}

/** A scalar Lake value (not a struct, list or NULL), trimmed. */
function scalar(value: string | undefined): string | undefined {
  const text = value?.trim() ?? "";
  return text === "" || /^[{[]/.test(text) || text.toLowerCase() === "null" ? undefined : text;
}

function historyHref(attribute: LookupAttributeKey, value: string, range: TimeRangeValue): string {
  // Reads too: a Lake row is as likely a read as a write, and the link must find it.
  return `#/history?${historyQueryString({ attribute, value, readOnly: "all", hideOwn: false, range }, 0)}`;
}

/** The window an event ID link searches: a minute around its time when the row has it, else the last 90 days. */
function eventRange(row: readonly string[], timeIndex: number): TimeRangeValue {
  const at = timeIndex < 0 ? undefined : instantOf(row[timeIndex]);
  if (at === undefined) return PIVOT_RANGE;
  const start = new Date(at - EVENT_WINDOW_MS).toISOString();
  return { mode: "custom", start, end: new Date(at + EVENT_WINDOW_MS).toISOString() };
}

/** For each result column, how its cells link to Event history (undefined: they do not). */
export function lakeCellLinks(columns: readonly string[]): (CellLink | undefined)[] {
  const keys = columns.map(columnKey);
  const timeIndex = keys.indexOf("eventtime");
  return keys.map((key, index): CellLink | undefined => {
    const attribute = ATTRIBUTE_OF_COLUMN[key];
    if (attribute === "EventId") {
      return (row) => {
        const value = scalar(row[index]);
        return value && historyHref("EventId", value, eventRange(row, timeIndex));
      };
    }
    if (attribute !== undefined) {
      return (row) => {
        const value = scalar(row[index]);
        return value && historyHref(attribute, value, PIVOT_RANGE);
      };
    }
    // A user's ARN (`userIdentity.arn`, or the sample queries' `principal`, an ARN when the caller has
    // one): Event history knows the user by the name LookupEvents derives from it.
    if (key !== "arn" && key !== "principal") return undefined;
    return (row) => {
      const value = scalar(row[index]);
      const username = value === undefined ? undefined : deriveUsername(identityOfArn(value));
      return username && historyHref("Username", username, PIVOT_RANGE);
    };
  });
}
