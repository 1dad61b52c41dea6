import { fromInputValue, toInputValue, useTimeZone, zoneLabel } from "../time-zone.js";

export type RelativeRange = "1h" | "24h" | "7d" | "90d";

export interface TimeRangeValue {
  readonly mode: RelativeRange | "custom";
  /** ISO instants ("" when unset), used when mode is custom: the inputs show them in the chosen zone. */
  readonly start: string;
  readonly end: string;
}

const RELATIVE_MS: Record<RelativeRange, number> = {
  "1h": 3_600_000,
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
  "90d": 90 * 86_400_000,
};

const LABELS: Record<TimeRangeValue["mode"], string> = {
  "1h": "Last hour",
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
  "90d": "Last 90 days",
  custom: "Custom range",
};

/** Resolves a range to absolute bounds at the moment of the search. */
export function resolveRange(range: TimeRangeValue, nowMs: number): { start: Date; end: Date } {
  if (range.mode === "custom") {
    const start = range.start ? new Date(range.start) : new Date(nowMs - RELATIVE_MS["90d"]);
    const end = range.end ? new Date(range.end) : new Date(nowMs);
    return { start, end };
  }
  return { start: new Date(nowMs - RELATIVE_MS[range.mode]), end: new Date(nowMs) };
}

export function isRangeMode(text: string): text is TimeRangeValue["mode"] {
  return Object.hasOwn(LABELS, text);
}

export function TimeRangePicker({
  value,
  onChange,
}: {
  value: TimeRangeValue;
  onChange: (value: TimeRangeValue) => void;
}) {
  const { zone } = useTimeZone();
  const label = zoneLabel(new Date(), zone);
  return (
    <fieldset className="time-range">
      <legend>Time range</legend>
      <select
        aria-label="Time range"
        value={value.mode}
        onChange={(event) => onChange({ ...value, mode: event.target.value as TimeRangeValue["mode"] })}
      >
        {(Object.keys(LABELS) as TimeRangeValue["mode"][]).map((mode) => (
          <option key={mode} value={mode}>
            {LABELS[mode]}
          </option>
        ))}
      </select>
      {value.mode === "custom" && (
        <>
          <label>
            <span>
              From <span className="zone">({label})</span>
            </span>
            <input
              type="datetime-local"
              name="start"
              value={toInputValue(value.start, zone)}
              onChange={(event) => onChange({ ...value, start: fromInputValue(event.target.value, zone) })}
            />
          </label>
          <label>
            <span>
              To <span className="zone">({label})</span>
            </span>
            <input
              type="datetime-local"
              name="end"
              value={toInputValue(value.end, zone)}
              onChange={(event) => onChange({ ...value, end: fromInputValue(event.target.value, zone) })}
            />
          </label>
        </>
      )}
    </fieldset>
  );
}
