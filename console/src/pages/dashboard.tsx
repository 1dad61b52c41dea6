import { useEffect, useMemo, useState, type FormEvent } from "react";
import type { EventDataStore } from "@aws-sdk/client-cloudtrail";
import { useSession } from "../session-context.js";
import { describeError } from "../api/cloudtrail.js";
import { isAbort, runLakeQuery, storeIdOf, type LakeTable } from "../api/lake-query.js";
import {
  dashboardQueries,
  overviewOf,
  principalsOf,
  STEP_MS,
  unitFor,
  type Overview,
  type QueryId,
  type Unit,
} from "../api/dashboard-query.js";
import { historyLink } from "../api/history-link.js";
import { EmptyState, ErrorBanner, Loading } from "../components/status.js";
import { preferredStore, StoresError, useEventDataStores } from "../components/event-data-stores.js";
import { ResultChart, type ChartPlan, type ChartPoint } from "../components/result-chart.js";
import { RankedChart, type RankedPoint } from "../components/ranked-chart.js";
import { resolveRange, TimeRangePicker, type TimeRangeValue } from "../components/time-range.js";
import { formatInstant, useTimeZone, zoneLabel, type ZoneMode } from "../time-zone.js";
import { InsightsWidget, SigmaWidget } from "./dashboard-detections.js";
import { isDenied, mapLoad, Widget, type Load } from "./dashboard-widget.js";

/** Beyond this many buckets the empty ones are not drawn as zeros (a custom range of years in days). */
const MAX_FILLED_BUCKETS = 5000;
/** eventTime has whole seconds: a bucket's events end one second before the next bucket (LookupEvents' bounds are inclusive). */
const SECOND_MS = 1000;

interface Applied {
  readonly storeId: string;
  readonly start: Date;
  readonly end: Date;
  /** Changes on every refresh so pressing Refresh re-runs identical bounds too. */
  readonly stamp: number;
}

/** The bucket's tick: days are UTC days (Lake's date_trunc), hours and minutes are shown in the chosen zone. */
function tickFormat(unit: Unit, zone: ZoneMode, spanMs: number): (ms: number) => string {
  return (ms) => {
    const shown = formatInstant(new Date(ms), unit === "day" ? "utc" : zone, false);
    if (unit === "day") return shown.slice(0, 10);
    return unit === "hour" || spanMs > 86_400_000 ? shown.slice(5, 16) : shown.slice(11, 16);
  };
}

/** The buckets of the range on a time axis, a zero for every empty one, so gaps read as "nothing happened". */
function seriesPlan(figures: Overview, applied: Applied, measure: "events" | "errors", zone: ZoneMode): ChartPlan {
  const unit = unitFor(applied.start, applied.end);
  const step = STEP_MS[unit];
  const first = Math.floor(applied.start.getTime() / step) * step;
  const last = applied.end.getTime();
  const instants =
    (last - first) / step <= MAX_FILLED_BUCKETS
      ? Array.from({ length: Math.ceil((last - first) / step) }, (_, index) => first + index * step)
      : [...figures.buckets.keys()].sort((a, b) => a - b);
  const labelZone = unit === "day" ? "utc" : zone;
  return {
    kind: "line",
    label: unit,
    value: measure,
    points: instants.map((t) => ({
      t,
      label: formatInstant(new Date(t), labelZone, false),
      value: figures.buckets.get(t)?.[measure] ?? 0,
    })),
  };
}

/** Event history over one bucket, as far as the dashboard's range covers it. */
function bucketLink(applied: Applied, t: number): string {
  const step = STEP_MS[unitFor(applied.start, applied.end)];
  const start = new Date(Math.max(t, applied.start.getTime()));
  const end = new Date(Math.min(t + step - SECOND_MS, applied.end.getTime()));
  return historyLink({ start, end });
}

function valueLink(attribute: "EventName" | "EventSource" | "Username", applied: Applied | undefined) {
  return (value: string): string | undefined =>
    applied && value !== "" && value !== "(none)"
      ? historyLink({ attribute, value, start: applied.start, end: applied.end })
      : undefined;
}

function rankedPoints(table: LakeTable): RankedPoint[] {
  return table.rows.map((row) => ({ label: row[0] || "(none)", value: Number(row[1] ?? 0) }));
}

const numberFormat = new Intl.NumberFormat();

function StatCard({ label, value, detail }: { label: string; value: string; detail?: string }) {
  return (
    <div className="panel stat-card" role="group" aria-label={label}>
      <div className="muted">{label}</div>
      <div className="stat">{value}</div>
      {detail && <div className="muted">{detail}</div>}
    </div>
  );
}

const LOADING: Record<QueryId, Load<LakeTable>> = {
  overview: { status: "loading" },
  principals: { status: "loading" },
  sourceIps: { status: "loading" },
  signIns: { status: "loading" },
};

/**
 * Runs the dashboard's four Lake queries for `applied` side by side (the server runs up to 10 per
 * account); each widget shows as soon as its query has answered. A change abandons (and cancels) them.
 */
function useDashboardQueries(applied: Applied | undefined): Record<QueryId, Load<LakeTable>> {
  const { client } = useSession();
  const [loads, setLoads] = useState(LOADING);
  useEffect(() => {
    if (!applied) return;
    const controller = new AbortController();
    const { signal } = controller;
    setLoads(LOADING);
    const queries = dashboardQueries(applied.storeId, applied.start, applied.end);
    for (const id of Object.keys(queries) as QueryId[]) {
      // Dashboard queries take about a second: polled closer together than the Lake page's, the wait ends sooner.
      runLakeQuery(client, queries[id], { signal, pollGrowth: 1.25 }).then(
        (table) => {
          if (!signal.aborted) setLoads((current) => ({ ...current, [id]: { status: "ready", value: table } }));
        },
        (problem: unknown) => {
          if (isAbort(problem) || signal.aborted) return;
          const described = describeError(problem);
          const failed = { status: "error", error: described.message, denied: isDenied(described.code) } as const;
          setLoads((current) => ({ ...current, [id]: failed }));
        },
      );
    }
    return () => controller.abort();
  }, [applied, client]);
  return loads;
}

const INITIAL_RANGE: TimeRangeValue = { mode: "90d", start: "", end: "" };

function applyRange(storeId: string, range: TimeRangeValue): Applied {
  const { start, end } = resolveRange(range, Date.now());
  return { storeId, start, end, stamp: Date.now() };
}

export function DashboardPage() {
  const list = useEventDataStores();
  const { stores } = list;
  if (list.error !== undefined) return <StoresError list={list} />;
  if (!stores) return <Loading label="Loading event data stores…" />;
  if (stores.length === 0) {
    return (
      <EmptyState title="No event data store to chart">
        The dashboard runs Lake queries. <a href="#/lake">Create an event data store on the Lake page</a>, then import
        or record events into it.
      </EmptyState>
    );
  }
  return <DashboardView stores={stores} />;
}

function DashboardView({ stores }: { stores: EventDataStore[] }) {
  const { zone } = useTimeZone();
  const [storeId, setStoreId] = useState(() => {
    const preferred = preferredStore(stores) ?? stores[0];
    return preferred ? storeIdOf(preferred) : "";
  });
  const [range, setRange] = useState<TimeRangeValue>(INITIAL_RANGE);
  // The default store starts the dashboard without a click.
  const [applied, setApplied] = useState<Applied | undefined>(() =>
    storeId !== "" ? applyRange(storeId, INITIAL_RANGE) : undefined,
  );
  const loads = useDashboardQueries(applied);
  const figures = useMemo(() => mapLoad(loads.overview, overviewOf), [loads.overview]);
  const apply = (id: string, value: TimeRangeValue): void => {
    if (id !== "") setApplied(applyRange(id, value));
  };

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    apply(storeId, range);
  };

  const ready = figures.status === "ready" ? figures.value : undefined;
  const events = ready?.events ?? 0;
  const errors = ready?.errors ?? 0;
  const totalsText = (text: string): string => (ready ? text : figures.status === "error" ? "–" : "…");
  const unit = applied ? unitFor(applied.start, applied.end) : "day";
  const rangeText = applied
    ? `${formatInstant(applied.start, zone, false)} – ${formatInstant(applied.end, zone, false)} · ${
        unit === "day"
          ? "daily buckets (UTC days)"
          : `${unit === "hour" ? "hourly" : "minute"} buckets (${zoneLabel(applied.end, zone)})`
      }`
    : "";

  return (
    <section aria-label="Dashboard" className="dashboard">
      <form className="filters" onSubmit={submit} aria-label="Dashboard settings">
        <label>
          Event data store
          <select
            name="store"
            value={storeId}
            onChange={(event) => {
              setStoreId(event.target.value);
              apply(event.target.value, range);
            }}
          >
            {stores.map((store) => (
              <option key={storeIdOf(store)} value={storeIdOf(store)}>
                {store.Name}
                {store.Status && store.Status !== "ENABLED" ? ` (${store.Status})` : ""}
              </option>
            ))}
          </select>
        </label>
        <TimeRangePicker
          value={range}
          onChange={(next) => {
            setRange(next);
            if (next.mode !== "custom" && next.mode !== range.mode) apply(storeId, next);
          }}
        />
        <div className="actions">
          <button type="submit" className="primary">
            {range.mode === "custom" ? "Apply" : "Refresh"}
          </button>
        </div>
      </form>
      <p className="muted range-text">{rangeText}</p>
      {figures.status === "error" && (
        <ErrorBanner
          title={figures.denied ? "Not allowed to query this event data store" : "Dashboard query failed"}
          message={figures.error}
        />
      )}
      <div className="stat-cards">
        <StatCard label="Events" value={totalsText(numberFormat.format(events))} />
        <StatCard label="Errors" value={totalsText(numberFormat.format(errors))} detail="events with an errorCode" />
        <StatCard
          label="Error rate"
          value={totalsText(events > 0 ? `${((errors / events) * 100).toFixed(1)} %` : "–")}
          detail={ready ? `${numberFormat.format(errors)} of ${numberFormat.format(events)}` : ""}
        />
        <StatCard
          label="Root user calls"
          value={totalsText(numberFormat.format(ready?.rootCalls ?? 0))}
          detail="calls made with the account's root credentials"
        />
      </div>
      <DashboardWidgets figures={figures} loads={loads} applied={applied} />
    </section>
  );
}

function TimeWidget({
  title,
  measure,
  figures,
  applied,
  height,
}: {
  title: string;
  measure: "events" | "errors";
  figures: Load<Overview>;
  applied: Applied | undefined;
  height?: number;
}) {
  const { zone } = useTimeZone();
  const noBuckets = (value: Overview): boolean => ![...value.buckets.values()].some((bucket) => bucket[measure] > 0);
  return (
    <Widget
      title={title}
      load={figures}
      wide
      empty={noBuckets}
      emptyText={measure === "errors" ? "No errors in this time range" : "No events in this time range"}
    >
      {(value) => {
        if (!applied) return null;
        const plan = seriesPlan(value, applied, measure, zone);
        const unit = unitFor(applied.start, applied.end);
        const spanMs = applied.end.getTime() - applied.start.getTime();
        const first = plan.points[0]?.t ?? 0;
        const last = plan.points.at(-1)?.t ?? 0;
        const open = (point: ChartPoint): void => {
          if (point.t !== undefined) window.location.hash = bucketLink(applied, point.t);
        };
        return (
          <>
            <ResultChart
              plan={plan}
              title={title}
              {...(height !== undefined ? { height } : {})}
              time={{ tickFormat: tickFormat(unit, zone, spanMs), domain: [first, last], onPointClick: open }}
            />
            <BucketList plan={plan} applied={applied} measure={measure} title={title} />
          </>
        );
      }}
    </Widget>
  );
}

/** The same buckets as links, for the keyboard and screen readers (a chart click is pointer-only). */
function BucketList({
  plan,
  applied,
  measure,
  title,
}: {
  plan: ChartPlan;
  applied: Applied;
  measure: string;
  title: string;
}) {
  const shown = plan.points.filter((point) => point.value > 0);
  return (
    <details className="bucket-list">
      <summary>
        {title}: {shown.length} bucket{shown.length === 1 ? "" : "s"} with {measure}, as links
      </summary>
      <ul aria-label={`${title} by bucket`}>
        {shown.map((point) => (
          <li key={point.t}>
            <a href={bucketLink(applied, point.t ?? 0)}>{point.label}</a> · {numberFormat.format(point.value)} {measure}
          </li>
        ))}
      </ul>
    </details>
  );
}

function DashboardWidgets({
  figures,
  loads,
  applied,
}: {
  figures: Load<Overview>;
  loads: Record<QueryId, Load<LakeTable>>;
  applied: Applied | undefined;
}) {
  const principals = useMemo(() => mapLoad(loads.principals, principalsOf), [loads.principals]);
  const noRows = (table: LakeTable): boolean => table.rows.length === 0;
  const ranked = (
    title: string,
    load: Load<LakeTable>,
    valueName: string,
    linkOf?: (label: string) => string | undefined,
  ) => (
    <Widget title={title} load={load} empty={noRows}>
      {(table) => (
        <RankedChart title={title} points={rankedPoints(table)} valueName={valueName} {...(linkOf ? { linkOf } : {})} />
      )}
    </Widget>
  );
  return (
    <div className="grid dashboard-grid">
      <TimeWidget title="Events over time" measure="events" figures={figures} applied={applied} />
      {ranked(
        "Top event names",
        mapLoad(figures, (v) => v.eventNames),
        "events",
        valueLink("EventName", applied),
      )}
      {ranked(
        "Top users",
        mapLoad(principals, (v) => v.users),
        "events",
        valueLink("Username", applied),
      )}
      <InsightsWidget span={applied} />
      <SigmaWidget span={applied} />
      {ranked(
        "Access denied, by user",
        mapLoad(principals, (v) => v.deniedUsers),
        "refused calls",
        valueLink("Username", applied),
      )}
      {ranked("Top source IP addresses", loads.sourceIps, "events")}
      {ranked("Console sign-ins", loads.signIns, "sign-ins", () => valueLink("EventName", applied)("ConsoleLogin"))}
      {ranked(
        "Root user activity",
        mapLoad(figures, (v) => v.root),
        "calls",
        () => valueLink("Username", applied)("root"),
      )}
      {ranked(
        "Top event sources",
        mapLoad(figures, (v) => v.sources),
        "events",
        valueLink("EventSource", applied),
      )}
      <TimeWidget title="Errors over time" measure="errors" figures={figures} applied={applied} height={220} />
    </div>
  );
}
