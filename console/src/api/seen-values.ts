import type { LookupAttributeKey } from "../../../src/consumers/event-history/event-history.js";
import type { HistoryRow } from "./history-rows.js";
import { LOOKUP_KEYS } from "./history-query.js";

/** Values of each lookup attribute seen in results, newest first: suggestions for the Value box. */
export type SeenValues = ReadonlyMap<LookupAttributeKey, readonly string[]>;

const KEEP_PER_ATTRIBUTE = 200;

function valuesOf(row: HistoryRow, key: LookupAttributeKey): string[] {
  switch (key) {
    case "EventName":
      return [row.eventName];
    case "EventSource":
      return [row.eventSource];
    case "Username":
      return [row.username];
    case "ResourceType":
      return row.resources.map((resource) => resource.type);
    case "ResourceName":
      return row.resources.map((resource) => resource.name);
    case "EventId":
      return [row.eventId];
    case "AccessKeyId":
      return [row.accessKeyId];
    default:
      return [];
  }
}

/** The values seen so far with those of new rows in front, each once, at most 200 an attribute. */
export function addSeen(seen: SeenValues, rows: readonly HistoryRow[]): SeenValues {
  const next = new Map<LookupAttributeKey, readonly string[]>();
  for (const key of LOOKUP_KEYS) {
    const fresh = rows.flatMap((row) => valuesOf(row, key)).filter((value) => value !== "");
    next.set(key, [...new Set([...fresh, ...(seen.get(key) ?? [])])].slice(0, KEEP_PER_ATTRIBUTE));
  }
  return next;
}

/**
 * A seen value the typed one matches only ignoring case. LookupEvents compares exactly, as AWS does
 * (`consolelogin` finds nothing), so the console offers the spelling it has seen instead.
 */
export function caseVariant(seen: SeenValues, key: LookupAttributeKey, typed: string): string | undefined {
  const wanted = typed.trim();
  if (wanted === "") return undefined;
  const values = seen.get(key) ?? [];
  if (values.includes(wanted)) return undefined;
  const lower = wanted.toLowerCase();
  return values.find((value) => value.toLowerCase() === lower);
}
