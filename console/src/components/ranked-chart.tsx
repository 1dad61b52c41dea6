import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

export interface RankedPoint {
  readonly label: string;
  readonly value: number;
}

/** ARNs are long: the resource part (`user/alice`) is what tells bars apart; the tooltip has the rest. */
function shortLabel(label: string, max = 22): string {
  let text = label;
  if (text.startsWith("arn:")) {
    const parts = text.split(":");
    if (parts.length >= 6) text = parts.slice(5).join(":");
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

interface TickProps {
  readonly x?: number | string;
  readonly y?: number | string;
  readonly payload?: { value?: unknown };
}

/** A bar's label: the full text as a tooltip, and a link when the value can be searched for. */
function RankedTick({ x = 0, y = 0, payload, display, linkOf }: TickProps & TickOptions) {
  const full = String(payload?.value ?? "");
  const text = (
    <text x={-4} y={0} dy={4} textAnchor="end" fontSize={11} fill="#334155">
      <title>{full}</title>
      {display(full)}
    </text>
  );
  const href = linkOf?.(full);
  return <g transform={`translate(${x},${y})`}>{href ? <a href={href}>{text}</a> : text}</g>;
}

interface TickOptions {
  readonly display: (label: string) => string;
  readonly linkOf?: ((label: string) => string | undefined) | undefined;
}

/** A "top N" list as horizontal bars, biggest first, so long names stay readable on narrow screens. */
export function RankedChart({
  title,
  points,
  valueName,
  labelWidth = 160,
  linkOf,
}: {
  title: string;
  points: readonly RankedPoint[];
  valueName: string;
  labelWidth?: number;
  /** Where a label leads (the matching events), if anywhere. */
  linkOf?: (label: string) => string | undefined;
}) {
  const data = points.map((point) => ({ label: point.label, value: point.value }));
  // Two principals of different accounts can share a short label (user/alice): add the account's tail.
  const shortCounts = new Map<string, number>();
  for (const point of data)
    shortCounts.set(shortLabel(point.label), (shortCounts.get(shortLabel(point.label)) ?? 0) + 1);
  const display = new Map(
    data.map((point) => {
      const short = shortLabel(point.label);
      const account = point.label.startsWith("arn:") ? (point.label.split(":")[4] ?? "") : "";
      return [
        point.label,
        (shortCounts.get(short) ?? 0) > 1 && account ? `${shortLabel(point.label, 15)} …${account.slice(-4)}` : short,
      ];
    }),
  );
  const height = Math.max(120, data.length * 28 + 40);
  return (
    <figure className="chart" aria-label={title} data-chart-kind="ranked">
      <figcaption>{title}</figcaption>
      <ResponsiveContainer width="100%" height={height}>
        <BarChart data={data} layout="vertical" margin={{ top: 4, right: 16, bottom: 4, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" horizontal={false} />
          <XAxis type="number" allowDecimals={false} tick={{ fontSize: 11 }} />
          <YAxis
            type="category"
            dataKey="label"
            width={labelWidth}
            interval={0}
            tick={(props: TickProps) => (
              <RankedTick {...props} display={(label) => display.get(label) ?? shortLabel(label)} linkOf={linkOf} />
            )}
          />
          <Tooltip />
          <Bar dataKey="value" name={valueName} fill="#2563eb" maxBarSize={20} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}
