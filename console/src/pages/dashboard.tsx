import { useCallback, useEffect, useState, type FormEvent, type ReactNode } from "react";
import type { EventDataStore } from "@aws-sdk/client-cloudtrail";
import { useSession } from "../session-context.js";
import { describeError } from "../api/cloudtrail.js";
import {
  isAbort,
  listAllStores,
  mapWithConcurrency,
  runLakeQuery,
  sqlTimestamp,
  storeIdOf,
  type LakeTable,
} from "../api/lake-query.js";
import { EmptyState, ErrorBanner, Loading } from "../components/status.js";
import { ResultChart, type ChartPlan } from "../components/result-chart.js";
import { RankedChart, type RankedPoint } from "../components/ranked-chart.js";
import { resolveRange, TimeRangePicker, type TimeRangeValue } from "../components/time-range.js";
import { formatInstant, useTimeZone, zoneLabel, type ZoneMode } from "../time-zone.js";
import { historyQueryString } from "../api/history-query.js";

/** The server runs at most 10 queries per account at once; leave room for the Lake page and the CLI. */
const CONCURRENCY = 4;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const MAX_FILLED_BUCKETS = 5000;
const TOP_N = 10;

type Unit = "minute" | "hour" | "day";
type WidgetId =
  | "totals"
  | "overTime"
  | "errorsOverTime"
  | "eventNames"
  | "users"
  | "sources"
  | "deniedUsers"
  | "sourceIps"
  | "signIns"
  | "root";

interface Applied {
  readonly storeId: string;
  readonly start: Date;
  readonly end: Date;
  /** Changes on every refresh so pressing Refresh re-runs identical bounds too. */
  readonly stamp: number;
}

interface WidgetState {
  readonly status: "loading" | "ready" | "error";
  readonly table?: LakeTable;
  readonly error?: string;
}

const HAS_ERROR = "errorCode IS NOT NULL AND errorCode <> ''";
/**
 * Who made the call, as Event history names users: the IAM user or the role behind a session, else
 * the last part of the ARN (`root`, a federated name), so `user/alice` and `alice` count as one.
 */
const PRINCIPAL =
  "COALESCE(NULLIF(userIdentity.userName, ''), NULLIF(userIdentity.sessionContext.sessionIssuer.userName, ''), " +
  "NULLIF(regexp_extract(userIdentity.arn, '[^/:]+$'), ''), NULLIF(userIdentity.principalId, ''))";
/** AccessDenied, Client.UnauthorizedOperation and the like: a caller refused by a policy. */
const DENIED = "(errorCode LIKE '%AccessDenied%' OR errorCode LIKE '%Unauthorized%' OR errorCode LIKE '%Forbidden%')";
const MFA_USED = "additionalEventData['MFAUsed']";

/** Buckets from the range: minutes up to 3 hours, hours up to a week, then days (at most ~180 points). */
function unitFor(start: Date, end: Date): Unit {
  const span = end.getTime() - start.getTime();
  return span <= 3 * HOUR_MS ? "minute" : span <= 7 * DAY_MS ? "hour" : "day";
}

const STEP_MS: Record<Unit, number> = { minute: MINUTE_MS, hour: HOUR_MS, day: DAY_MS };

function queriesFor(applied: Applied): Record<WidgetId, string> {
  const { storeId: id, start, end } = applied;
  const unit = unitFor(start, end);
  const where = `eventTime >= '${sqlTimestamp(start)}' AND eventTime < '${sqlTimestamp(end)}'`;
  const top = (expression: string, alias: string, extra = ""): string =>
    `SELECT ${expression} AS ${alias}, COUNT(*) AS events FROM ${id} WHERE ${where}${extra} ` +
    `GROUP BY 1 ORDER BY events DESC LIMIT ${TOP_N}`;
  return {
    totals:
      `SELECT COUNT(*) AS events, SUM(CASE WHEN ${HAS_ERROR} THEN 1 ELSE 0 END) AS errors, ` +
      `SUM(CASE WHEN userIdentity.type = 'Root' THEN 1 ELSE 0 END) AS root FROM ${id} WHERE ${where}`,
    overTime: `SELECT date_trunc('${unit}', eventTime) AS ${unit}, COUNT(*) AS events FROM ${id} WHERE ${where} GROUP BY 1 ORDER BY 1`,
    errorsOverTime:
      `SELECT date_trunc('${unit}', eventTime) AS ${unit}, COUNT(*) AS errors FROM ${id} ` +
      `WHERE ${where} AND ${HAS_ERROR} GROUP BY 1 ORDER BY 1`,
    eventNames: top("eventName", "eventName"),
    users: top(PRINCIPAL, "principal", ` AND ${PRINCIPAL} IS NOT NULL`),
    sources: top("eventSource", "eventSource"),
    deniedUsers: top(PRINCIPAL, "principal", ` AND ${DENIED} AND ${PRINCIPAL} IS NOT NULL`),
    sourceIps: top("sourceIPAddress", "sourceIPAddress", " AND sourceIPAddress IS NOT NULL AND sourceIPAddress <> ''"),
    signIns:
      `SELECT CASE WHEN responseElements['ConsoleLogin'] = 'Failure' THEN 'Failed' ` +
      `WHEN ${MFA_USED} = 'Yes' THEN 'With MFA' ELSE 'Without MFA' END AS signIn, COUNT(*) AS events ` +
      `FROM ${id} WHERE ${where} AND eventName = 'ConsoleLogin' GROUP BY 1 ORDER BY events DESC`,
    root: top("eventName", "eventName", " AND userIdentity.type = 'Root'"),
  };
}

/** Lake's timestamp text for a UTC instant, as date_trunc answers it. */
function bucketKey(ms: number): string {
  return `${sqlTimestamp(new Date(ms))}.000`;
}

/** Hours and minutes in the chosen zone; days are UTC days (the buckets Lake's date_trunc makes), so they keep their UTC date. */
function bucketLabel(key: string, unit: Unit, zone: ZoneMode): string {
  if (unit === "day") return key.slice(0, 10);
  const shown = formatInstant(new Date(`${key.slice(0, 19).replace(" ", "T")}Z`), zone, false);
  return unit === "hour" ? shown.slice(5, 16) : shown.slice(11, 16);
}

/** A time series with a zero for every empty bucket, so gaps read as "nothing happened". */
function seriesPlan(table: LakeTable, applied: Applied, value: string, zone: ZoneMode): ChartPlan {
  const unit = unitFor(applied.start, applied.end);
  const step = STEP_MS[unit];
  const counts = new Map(table.rows.map((row) => [row[0] ?? "", Number(row[1] ?? 0)]));
  const first = Math.floor(applied.start.getTime() / step) * step;
  const last = applied.end.getTime();
  let keys: string[];
  if ((last - first) / step <= MAX_FILLED_BUCKETS) {
    keys = [];
    for (let at = first; at < last; at += step) keys.push(bucketKey(at));
  } else {
    keys = [...counts.keys()];
  }
  return {
    kind: "line",
    label: unit,
    value,
    points: keys.map((key) => ({ label: bucketLabel(key, unit, zone), value: counts.get(key) ?? 0 })),
  };
}

/** Event history for one value over the dashboard's range: the events behind a bar (reads too, as the bar counts them). */
function historyLink(attribute: "EventName" | "EventSource" | "Username", value: string, applied: Applied | undefined) {
  if (!applied || value === "" || value === "(none)") return undefined;
  const range = { mode: "custom", start: applied.start.toISOString(), end: applied.end.toISOString() } as const;
  return `#/history?${historyQueryString({ attribute, value, readOnly: "all", hideOwn: false, range }, 0)}`;
}

function rankedPoints(table: LakeTable): RankedPoint[] {
  return table.rows.map((row) => ({ label: row[0] || "(none)", value: Number(row[1] ?? 0) }));
}

const numberFormat = new Intl.NumberFormat();

function Widget({
  title,
  state,
  wide,
  empty,
  children,
}: {
  title: string;
  state: WidgetState | undefined;
  wide?: boolean;
  empty: (table: LakeTable) => boolean;
  children: (table: LakeTable) => ReactNode;
}) {
  const className = wide ? "widget wide" : "widget";
  if (state?.status === "ready" && state.table && !empty(state.table)) {
    return (
      <div className={className} data-state="ready">
        {children(state.table)}
      </div>
    );
  }
  const status = state?.status ?? "loading";
  return (
    <div className={className} data-state={status === "ready" ? "empty" : status}>
      <figure className="chart placeholder" aria-label={title} aria-busy={status === "loading"}>
        <figcaption>{title}</figcaption>
        {status === "loading" ? (
          <Loading label="Running query…" />
        ) : status === "error" ? (
          <ErrorBanner title="Query failed" message={state?.error ?? "Unknown error"} />
        ) : (
          <EmptyState title="No events in this time range" />
        )}
      </figure>
    </div>
  );
}

function StatCard({ label, value, detail }: { label: string; value: string; detail?: string }) {
  return (
    <div className="panel stat-card" role="group" aria-label={label}>
      <div className="muted">{label}</div>
      <div className="stat">{value}</div>
      {detail && <div className="muted">{detail}</div>}
    </div>
  );
}

/** Runs the dashboard's queries for `applied`, at most CONCURRENCY at a time; abandons them on change. */
function useDashboardQueries(applied: Applied | undefined): Partial<Record<WidgetId, WidgetState>> {
  const { client } = useSession();
  const [widgets, setWidgets] = useState<Partial<Record<WidgetId, WidgetState>>>({});
  useEffect(() => {
    if (!applied) return;
    const controller = new AbortController();
    const { signal } = controller;
    const queries = queriesFor(applied);
    const ids = Object.keys(queries) as WidgetId[];
    setWidgets(Object.fromEntries(ids.map((id) => [id, { status: "loading" }])));
    void mapWithConcurrency(ids, CONCURRENCY, async (id) => {
      if (signal.aborted) return;
      try {
        const table = await runLakeQuery(client, queries[id], { signal });
        if (!signal.aborted) setWidgets((current) => ({ ...current, [id]: { status: "ready", table } }));
      } catch (problem) {
        if (isAbort(problem) || signal.aborted) return;
        setWidgets((current) => ({ ...current, [id]: { status: "error", error: describeError(problem).message } }));
      }
    });
    // Leaving the page or changing the range abandons (and cancels) the queries still running.
    return () => controller.abort();
  }, [applied, client]);
  return widgets;
}

const INITIAL_RANGE: TimeRangeValue = { mode: "90d", start: "", end: "" };

function applyRange(storeId: string, range: TimeRangeValue): Applied {
  const { start, end } = resolveRange(range, Date.now());
  return { storeId, start, end, stamp: Date.now() };
}

export function DashboardPage() {
  const { client } = useSession();
  const [stores, setStores] = useState<EventDataStore[] | undefined>();
  const [storesError, setStoresError] = useState<string | undefined>();

  const loadStores = useCallback(async (): Promise<void> => {
    setStoresError(undefined);
    try {
      setStores(await listAllStores(client));
    } catch (problem) {
      setStoresError(describeError(problem).message);
    }
  }, [client]);

  useEffect(() => {
    void loadStores();
  }, [loadStores]);

  if (storesError) {
    return (
      <ErrorBanner
        title="Could not list event data stores"
        message={storesError}
        action={
          <button type="button" onClick={() => void loadStores()}>
            Retry
          </button>
        }
      />
    );
  }
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
    const preferred =
      stores.find((store) => store.Status === "ENABLED") ??
      stores.find((store) => store.Status !== "PENDING_DELETION") ??
      stores[0];
    return preferred ? storeIdOf(preferred) : "";
  });
  const [range, setRange] = useState<TimeRangeValue>(INITIAL_RANGE);
  // The default store starts the dashboard without a click.
  const [applied, setApplied] = useState<Applied | undefined>(() =>
    storeId !== "" ? applyRange(storeId, INITIAL_RANGE) : undefined,
  );
  const widgets = useDashboardQueries(applied);
  const apply = (id: string, value: TimeRangeValue): void => {
    if (id !== "") setApplied(applyRange(id, value));
  };

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    apply(storeId, range);
  };

  const totals = widgets.totals;
  const totalRow = totals?.status === "ready" ? totals.table?.rows[0] : undefined;
  const events = Number(totalRow?.[0] || 0);
  const errors = Number(totalRow?.[1] || 0);
  const totalsText = (text: string): string =>
    totals?.status === "ready" ? text : totals?.status === "error" ? "–" : "…";
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
      {totals?.status === "error" && <ErrorBanner title="Totals query failed" message={totals.error ?? ""} />}
      <div className="stat-cards">
        <StatCard label="Events" value={totalsText(numberFormat.format(events))} />
        <StatCard label="Errors" value={totalsText(numberFormat.format(errors))} detail="events with an errorCode" />
        <StatCard
          label="Error rate"
          value={totalsText(events > 0 ? `${((errors / events) * 100).toFixed(1)} %` : "–")}
          detail={totals?.status === "ready" ? `${numberFormat.format(errors)} of ${numberFormat.format(events)}` : ""}
        />
        <StatCard
          label="Root user calls"
          value={totalsText(numberFormat.format(Number(totalRow?.[2] || 0)))}
          detail="calls made with the account's root credentials"
        />
      </div>
      <DashboardWidgets widgets={widgets} applied={applied} />
    </section>
  );
}

function DashboardWidgets({
  widgets,
  applied,
}: {
  widgets: Partial<Record<WidgetId, WidgetState>>;
  applied: Applied | undefined;
}) {
  const { zone } = useTimeZone();
  const noRows = (table: LakeTable): boolean => table.rows.length === 0;
  return (
    <div className="grid dashboard-grid">
      <Widget title="Events over time" state={widgets.overTime} wide empty={noRows}>
        {(table) =>
          applied && <ResultChart plan={seriesPlan(table, applied, "events", zone)} title="Events over time" />
        }
      </Widget>
      <Widget title="Top event names" state={widgets.eventNames} empty={noRows}>
        {(table) => (
          <RankedChart
            title="Top event names"
            points={rankedPoints(table)}
            valueName="events"
            linkOf={(label) => historyLink("EventName", label, applied)}
          />
        )}
      </Widget>
      <Widget title="Top users" state={widgets.users} empty={noRows}>
        {(table) => (
          <RankedChart
            title="Top users"
            points={rankedPoints(table)}
            valueName="events"
            linkOf={(label) => historyLink("Username", label, applied)}
          />
        )}
      </Widget>
      <Widget title="Access denied, by user" state={widgets.deniedUsers} empty={noRows}>
        {(table) => (
          <RankedChart
            title="Access denied, by user"
            points={rankedPoints(table)}
            valueName="refused calls"
            linkOf={(label) => historyLink("Username", label, applied)}
          />
        )}
      </Widget>
      <Widget title="Top source IP addresses" state={widgets.sourceIps} empty={noRows}>
        {(table) => <RankedChart title="Top source IP addresses" points={rankedPoints(table)} valueName="events" />}
      </Widget>
      <Widget title="Console sign-ins" state={widgets.signIns} empty={noRows}>
        {(table) => (
          <RankedChart
            title="Console sign-ins"
            points={rankedPoints(table)}
            valueName="sign-ins"
            linkOf={() => historyLink("EventName", "ConsoleLogin", applied)}
          />
        )}
      </Widget>
      <Widget title="Root user activity" state={widgets.root} empty={noRows}>
        {(table) => (
          <RankedChart
            title="Root user activity"
            points={rankedPoints(table)}
            valueName="calls"
            linkOf={() => historyLink("Username", "root", applied)}
          />
        )}
      </Widget>
      <Widget title="Top event sources" state={widgets.sources} empty={noRows}>
        {(table) => (
          <RankedChart
            title="Top event sources"
            points={rankedPoints(table)}
            valueName="events"
            linkOf={(label) => historyLink("EventSource", label, applied)}
          />
        )}
      </Widget>
      <Widget title="Errors over time" state={widgets.errorsOverTime} wide empty={noRows}>
        {(table) =>
          applied && (
            <ResultChart plan={seriesPlan(table, applied, "errors", zone)} title="Errors over time" height={220} />
          )
        }
      </Widget>
    </div>
  );
}
