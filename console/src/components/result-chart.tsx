import { Bar, BarChart, CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

export interface ChartableResult {
  readonly columns: readonly string[];
  /** Lake answers every value as a string (spec §7.2); numbers are recognised here. */
  readonly rows: readonly (readonly (string | null)[])[];
}

export interface ChartPlan {
  readonly kind: "bar" | "line";
  readonly label: string;
  readonly value: string;
  /** `t`: the label's instant (epoch ms), when the labels are times: the x axis is then a time axis. */
  readonly points: ChartPoint[];
}

/** Lake writes UTC times without a zone (`2026-01-01 00:00:00.000`): read them as UTC. */
function instantOf(label: string): number {
  const iso = label.replace(" ", "T");
  return Date.parse(/(Z|[+-]\d{2}:?\d{2})$/.test(iso) || !iso.includes("T") ? iso : `${iso}Z`);
}

const DAY_MS = 86_400_000;

/** Tick text for a time axis: the date alone over long spans, the time of day over short ones (UTC, as Lake). */
function timeTick(span: number): (ms: number) => string {
  return (ms) => {
    const iso = new Date(ms).toISOString();
    if (span > 3 * DAY_MS) return iso.slice(0, 10);
    if (span > DAY_MS / 2) return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
    return iso.slice(11, span > 600_000 ? 16 : 19);
  };
}

const LABEL_CHARS_MAX = 20;

/** A bar's label, shortened when long; its full text is the tooltip (an SVG title). */
function BarTick({
  x = 0,
  y = 0,
  payload,
}: {
  x?: number | string;
  y?: number | string;
  payload?: { value?: unknown };
}) {
  const full = String(payload?.value ?? "");
  const shown = full.length > LABEL_CHARS_MAX ? `${full.slice(0, LABEL_CHARS_MAX - 1)}…` : full;
  return (
    <g transform={`translate(${x},${y})`}>
      <text x={0} y={0} dy={12} textAnchor="middle" fontSize={11} fill="#334155" data-full-label={full}>
        <title>{full}</title>
        {shown}
      </text>
    </g>
  );
}

const TIME_LIKE = /^\d{4}-\d{2}-\d{2}([ T]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

function isNumber(value: string | null): boolean {
  return value !== null && value.trim() !== "" && Number.isFinite(Number(value));
}

/**
 * Picks a chart for a result: the first column whose values are all numbers is the measure, the first
 * other column the label; a line when the labels are times (a histogram), bars otherwise.
 * Undefined when the result has no numeric column or nothing to draw.
 */
export function planChart(result: ChartableResult): ChartPlan | undefined {
  if (result.rows.length === 0) return undefined;
  const numeric = result.columns.map((_, index) => result.rows.every((row) => isNumber(row[index] ?? null)));
  const valueIndex = numeric.findIndex((isNumeric) => isNumeric);
  if (valueIndex < 0) return undefined;
  const labelIndex = numeric.findIndex((isNumeric, index) => !isNumeric && index !== valueIndex);
  const labels = result.rows.map((row, rowIndex) => (labelIndex >= 0 ? (row[labelIndex] ?? "") : String(rowIndex + 1)));
  const timeLike = labelIndex >= 0 && labels.every((label) => TIME_LIKE.test(label));
  const points = result.rows.map((row, rowIndex) => ({
    label: labels[rowIndex] ?? "",
    value: Number(row[valueIndex]),
    ...(timeLike ? { t: instantOf(labels[rowIndex] ?? "") } : {}),
  }));
  if (timeLike) points.sort((a, b) => (a.t ?? 0) - (b.t ?? 0));
  return {
    kind: timeLike ? "line" : "bar",
    label: labelIndex >= 0 ? (result.columns[labelIndex] ?? "") : "row",
    value: result.columns[valueIndex] ?? "",
    points: timeLike ? points : points.slice(0, 50),
  };
}

export interface ChartPoint {
  readonly label: string;
  readonly value: number;
  readonly t?: number;
}

export interface TimeAxisOptions {
  /** Tick text for an instant (epoch ms); default: UTC, finer as the span shortens. */
  readonly tickFormat?: (ms: number) => string;
  /** The axis's bounds (epoch ms); default: the first and last point. */
  readonly domain?: readonly [number, number];
  /** Called with the point under the pointer when the chart is clicked. */
  readonly onPointClick?: (point: ChartPoint) => void;
}

export function ResultChart({
  plan,
  title,
  height = 260,
  time = {},
}: {
  plan: ChartPlan;
  title: string;
  height?: number;
  time?: TimeAxisOptions;
}) {
  const timed = plan.kind === "line" && plan.points.length > 0 && plan.points.every((p) => Number.isFinite(p.t));
  const span = timed ? (plan.points.at(-1)!.t ?? 0) - (plan.points[0]!.t ?? 0) : 0;
  const { tickFormat, domain, onPointClick } = time;
  const click = onPointClick
    ? (state: { activeTooltipIndex?: number | string | null | undefined }) => {
        const point = plan.points[Number(state.activeTooltipIndex)];
        if (point) onPointClick(point);
      }
    : undefined;
  return (
    <figure className="chart" aria-label={title} data-chart-kind={plan.kind} data-x-axis={timed ? "time" : "category"}>
      <figcaption>{title}</figcaption>
      <ResponsiveContainer width="100%" height={height}>
        {plan.kind === "line" ? (
          <LineChart
            data={plan.points}
            margin={{ top: 8, right: 16, bottom: 8, left: 0 }}
            {...(click ? { onClick: click, style: { cursor: "pointer" } } : {})}
          >
            <CartesianGrid strokeDasharray="3 3" />
            {timed ? (
              // A real time axis: points sit at their instants, so uneven gaps show as gaps.
              <XAxis
                dataKey="t"
                type="number"
                scale="time"
                domain={domain ? [domain[0], domain[1]] : ["dataMin", "dataMax"]}
                tickFormatter={tickFormat ?? timeTick(span)}
                tick={{ fontSize: 11 }}
                minTickGap={24}
              />
            ) : (
              <XAxis dataKey="label" tick={{ fontSize: 11 }} minTickGap={24} />
            )}
            <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={48} />
            <Tooltip labelFormatter={(_value, payload) => String(payload[0]?.payload?.label ?? "")} />
            {/* Linear: a smoothed curve would draw values between buckets that no bucket has. */}
            <Line
              type="linear"
              dataKey="value"
              name={plan.value}
              stroke="#2563eb"
              dot={plan.points.length <= 60}
              isAnimationActive={false}
            />
          </LineChart>
        ) : (
          <BarChart data={plan.points} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="label" tick={<BarTick />} interval="preserveStartEnd" />
            <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={48} />
            <Tooltip />
            <Bar dataKey="value" name={plan.value} fill="#2563eb" isAnimationActive={false} />
          </BarChart>
        )}
      </ResponsiveContainer>
    </figure>
  );
}
