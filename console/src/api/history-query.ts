import type { LookupAttributeKey } from "../../../src/consumers/event-history/event-history.js";
import { isRangeMode, type TimeRangeValue } from "../components/time-range.js";

/** The Event history form: what the URL's query holds. */
export interface FilterState {
  readonly attribute: LookupAttributeKey | "";
  readonly value: string;
  /** "false" (write events only) by default, as in the AWS console; "all" shows reads too. */
  readonly readOnly: ReadOnlyChoice;
  /** Hide this console's own reads (its polling); never its writes. */
  readonly hideOwn: boolean;
  readonly range: TimeRangeValue;
}

export type ReadOnlyChoice = "all" | "true" | "false";

export interface HistoryQuery {
  readonly form: FilterState;
  /** 0-based page of the search's results. */
  readonly page: number;
}

export const LOOKUP_KEYS: readonly LookupAttributeKey[] = [
  "EventName",
  "EventSource",
  "Username",
  "ResourceType",
  "ResourceName",
  "EventId",
  "AccessKeyId",
];

/**
 * A link can ask for page N only by walking N LookupEvents pages (tokens are not put in URLs: they
 * expire and belong to one principal), so a hand-edited URL cannot make the console issue many calls.
 */
const MAX_LINKED_PAGE = 20;

const DEFAULT_FORM: FilterState = {
  attribute: "",
  value: "",
  readOnly: "false",
  hideOwn: false,
  range: { mode: "90d", start: "", end: "" },
};

function instant(text: string | null): string {
  if (text === null || text === "") return "";
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

/** Reads a query string, ignoring anything malformed (a shared link never breaks the page). */
export function parseHistoryQuery(query: string): HistoryQuery {
  const params = new URLSearchParams(query);
  const attribute = params.get("attribute") ?? "";
  const readOnly = params.get("readOnly") ?? "";
  const own = params.get("own");
  const mode = params.get("range") ?? "";
  const page = Number.parseInt(params.get("page") ?? "1", 10);
  const known = (LOOKUP_KEYS as readonly string[]).includes(attribute);
  const form: FilterState = {
    attribute: known ? (attribute as LookupAttributeKey) : "",
    value: known ? (params.get("value") ?? "") : "",
    readOnly: readOnly === "true" || readOnly === "all" ? readOnly : DEFAULT_FORM.readOnly,
    hideOwn: own === "hide" ? true : own === "show" ? false : DEFAULT_FORM.hideOwn,
    range: isRangeMode(mode)
      ? { mode, start: instant(params.get("from")), end: instant(params.get("to")) }
      : DEFAULT_FORM.range,
  };
  return { form, page: Number.isFinite(page) ? Math.min(Math.max(page, 1), MAX_LINKED_PAGE) - 1 : 0 };
}

/** The query for a form and page: only what is set, times as UTC ISO instants whatever the display zone. */
export function historyQueryString(form: FilterState, page: number): string {
  const params = new URLSearchParams();
  if (form.attribute !== "" && form.value.trim() !== "") {
    params.set("attribute", form.attribute);
    params.set("value", form.value.trim());
  }
  // Always written, so a shared link keeps its meaning if the default changes.
  params.set("readOnly", form.readOnly);
  if (form.hideOwn) params.set("own", "hide");
  params.set("range", form.range.mode);
  if (form.range.mode === "custom") {
    if (form.range.start !== "") params.set("from", form.range.start);
    if (form.range.end !== "") params.set("to", form.range.end);
  }
  if (page > 0) params.set("page", String(page + 1));
  return params.toString();
}
