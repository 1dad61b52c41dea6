export type RelativeRange = "1h" | "24h" | "7d" | "90d";

export interface TimeRangeValue {
  readonly mode: RelativeRange | "custom";
  /** `datetime-local` texts, used when mode is custom. */
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

export function TimeRangePicker({
  value,
  onChange,
}: {
  value: TimeRangeValue;
  onChange: (value: TimeRangeValue) => void;
}) {
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
            From
            <input
              type="datetime-local"
              name="start"
              value={value.start}
              onChange={(event) => onChange({ ...value, start: event.target.value })}
            />
          </label>
          <label>
            To
            <input
              type="datetime-local"
              name="end"
              value={value.end}
              onChange={(event) => onChange({ ...value, end: event.target.value })}
            />
          </label>
        </>
      )}
    </fieldset>
  );
}
