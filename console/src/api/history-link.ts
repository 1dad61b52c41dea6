import type { LookupAttributeKey } from "../../../src/consumers/event-history/event-history.js";
import { historyQueryString } from "./history-query.js";

/**
 * A link to Event history for one attribute value over a window: the events behind a chart's bar,
 * bucket or detection. Reads are shown too (a dashboard count includes them), and the window is
 * written as UTC instants, so the link means the same in any display zone.
 */
export function historyLink(window: {
  readonly start: Date;
  readonly end: Date;
  readonly attribute?: LookupAttributeKey;
  readonly value?: string;
}): string {
  const { start, end, attribute, value } = window;
  const filter =
    attribute !== undefined && value !== undefined && value !== ""
      ? { attribute, value }
      : { attribute: "" as const, value: "" };
  const range = { mode: "custom", start: start.toISOString(), end: end.toISOString() } as const;
  return `#/history?${historyQueryString({ ...filter, readOnly: "all", hideOwn: false, range }, 0)}`;
}
