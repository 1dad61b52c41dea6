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
  readonly points: { label: string; value: number }[];
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
  }));
  if (timeLike) points.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  return {
    kind: timeLike ? "line" : "bar",
    label: labelIndex >= 0 ? (result.columns[labelIndex] ?? "") : "row",
    value: result.columns[valueIndex] ?? "",
    points: timeLike ? points : points.slice(0, 50),
  };
}

export function ResultChart({ plan, title, height = 260 }: { plan: ChartPlan; title: string; height?: number }) {
  return (
    <figure className="chart" aria-label={title} data-chart-kind={plan.kind}>
      <figcaption>{title}</figcaption>
      <ResponsiveContainer width="100%" height={height}>
        {plan.kind === "line" ? (
          <LineChart data={plan.points} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="label" tick={{ fontSize: 11 }} minTickGap={24} />
            <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={48} />
            <Tooltip />
            <Line
              type="monotone"
              dataKey="value"
              name={plan.value}
              stroke="#2563eb"
              dot={false}
              isAnimationActive={false}
            />
          </LineChart>
        ) : (
          <BarChart data={plan.points} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="label" tick={{ fontSize: 11 }} interval="preserveStartEnd" />
            <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={48} />
            <Tooltip />
            <Bar dataKey="value" name={plan.value} fill="#2563eb" isAnimationActive={false} />
          </BarChart>
        )}
      </ResponsiveContainer>
    </figure>
  );
}
