import { isValidElement, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { LookupEventsCommand, type LookupAttribute } from "@aws-sdk/client-cloudtrail";
import { useSession } from "../session-context.js";
import { describeError } from "../api/cloudtrail.js";
import { followLiveTail } from "../api/live-tail.js";
import { downloadText, toCsv } from "../api/download.js";
import {
  CSV_HEADER,
  csvCells,
  rowFromLiveRecord,
  rowFromSdkEvent,
  withoutOwnReads,
  type AttributeFilter,
  type HistoryRow,
} from "../api/history-rows.js";
import type { LookupAttributeKey } from "../../../src/consumers/event-history/event-history.js";
import { DataTable } from "../components/data-table.js";
import { EmptyState, ErrorBanner, Loading } from "../components/status.js";
import { JsonView } from "../components/json-view.js";
import { resolveRange, TimeRangePicker } from "../components/time-range.js";
import { ZonedTime } from "../components/zoned-time.js";
import { historyQueryString, parseHistoryQuery, type FilterState } from "../api/history-query.js";
import { navigateQuery, useHashQuery } from "../hash-query.js";
import { ExportAll } from "./history-export.js";
import type { ExportSearch } from "../api/export-events.js";
import { addSeen, caseVariant, type SeenValues } from "../api/seen-values.js";
import { ATTRIBUTES, ColumnChooser, HISTORY_COLUMNS, Pivot, PivotContext, useColumnChoice } from "./history-columns.js";

const PAGE_SIZE = 50;
const LIVE_ROWS_MAX = 500;

interface Search {
  readonly filters: AttributeFilter[];
  readonly start: Date;
  readonly end: Date;
  /** A relative range ("last hour") moves with the clock: live events after its end still belong to it. */
  readonly openEnded: boolean;
}

/** What live mode keeps: the search's filters and its time window (events are journaled, not only new, ones). */
interface LiveWindow {
  readonly filters: AttributeFilter[];
  readonly startMs: number;
  readonly endMs: number | null;
}

function liveWindowOf(search: Search | undefined): LiveWindow {
  if (!search) return { filters: [], startMs: 0, endMs: null };
  return {
    filters: search.filters,
    startMs: search.start.getTime(),
    endMs: search.openEnded ? null : search.end.getTime(),
  };
}

interface PageState {
  /** The search these rows answer (the form may already hold the next one). */
  readonly search: Search;
  readonly rows: HistoryRow[];
  readonly index: number;
  readonly nextToken: string | undefined;
}

function KeyFields({ row }: { row: HistoryRow }) {
  const record = row.record;
  const fields: [string, unknown][] = [
    ["Event ID", row.eventId],
    ["Event time", <ZonedTime key="time" date={row.time} />],
    ["Region", record["awsRegion"]],
    ["Source IP address", record["sourceIPAddress"]],
    ["User agent", record["userAgent"]],
    [
      "AWS access key",
      row.accessKeyId === "" ? "" : <Pivot key="key" attribute="AccessKeyId" value={row.accessKeyId} />,
    ],
    ["Read-only", row.readOnly],
    ["Request ID", record["requestID"]],
    ["Error code", record["errorCode"]],
    ["Error message", record["errorMessage"]],
  ];
  return (
    <dl className="key-fields">
      {fields
        .filter(([, value]) => (typeof value === "string" && value !== "") || isValidElement(value))
        .map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{isValidElement(value) ? value : String(value)}</dd>
          </div>
        ))}
    </dl>
  );
}

function EventDetails({ row }: { row: HistoryRow }) {
  return (
    <div className="event-details">
      <KeyFields row={row} />
      <JsonView json={row.json} label={`Event record ${row.eventId}`} />
    </div>
  );
}

function filtersOf(state: FilterState): AttributeFilter[] {
  const filters: AttributeFilter[] = [];
  if (state.attribute !== "" && state.value.trim() !== "")
    filters.push({ key: state.attribute, value: state.value.trim() });
  if (state.readOnly !== "all") filters.push({ key: "ReadOnly", value: state.readOnly });
  return filters;
}

interface HistoryFiltersProps {
  readonly state: FilterState;
  readonly onChange: (state: FilterState) => void;
  readonly onSearch: () => void;
  readonly loading: boolean;
  readonly live: boolean;
  readonly onLive: (live: boolean) => void;
  /** Applied at once: it only filters what was already fetched. */
  readonly onHideOwn: (hide: boolean) => void;
  readonly seen: SeenValues;
}

/** LookupEvents matches exactly (as in AWS); a value seen with another case is offered instead. */
function ValueHint({ state, seen, onUse }: { state: FilterState; seen: SeenValues; onUse: (value: string) => void }) {
  const variant = state.attribute === "" ? undefined : caseVariant(seen, state.attribute, state.value);
  return (
    <p id="history-value-hint" className="value-hint" role="status">
      {variant === undefined ? (
        state.attribute !== "" && "Exact, case-sensitive match, as in AWS. Suggestions come from events shown so far."
      ) : (
        <>
          Exact, case-sensitive match: did you mean{" "}
          <button type="button" className="link" onClick={() => onUse(variant)}>
            {variant}
          </button>
          ?
        </>
      )}
    </p>
  );
}

function HistoryFilters(props: HistoryFiltersProps) {
  const { state, onChange, onSearch, loading, live, onLive, onHideOwn, seen } = props;
  const set = <K extends keyof FilterState>(key: K, value: FilterState[K]): void =>
    onChange({ ...state, [key]: value });
  const selected = ATTRIBUTES.find((candidate) => candidate.key === state.attribute);
  return (
    <form
      className="filters"
      role="search"
      onSubmit={(event) => {
        event.preventDefault();
        onSearch();
      }}
    >
      <label>
        Lookup attribute
        <select
          name="attribute"
          value={state.attribute}
          onChange={(event) => set("attribute", event.target.value as LookupAttributeKey | "")}
        >
          <option value="">(none)</option>
          {ATTRIBUTES.map((candidate) => (
            <option key={candidate.key} value={candidate.key}>
              {candidate.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Value
        <input
          name="value"
          value={state.value}
          disabled={state.attribute === ""}
          placeholder={selected?.placeholder ?? "Pick an attribute first"}
          list="history-value-suggestions"
          autoComplete="off"
          aria-describedby="history-value-hint"
          onChange={(event) => set("value", event.target.value)}
        />
        <datalist id="history-value-suggestions">
          {(state.attribute === "" ? [] : (seen.get(state.attribute) ?? [])).map((value) => (
            <option key={value} value={value} />
          ))}
        </datalist>
      </label>
      <label>
        Read-only
        <select
          name="readOnly"
          value={state.readOnly}
          onChange={(event) => set("readOnly", event.target.value as FilterState["readOnly"])}
        >
          <option value="false">Write events (false)</option>
          <option value="true">Read-only events (true)</option>
          <option value="all">All events</option>
        </select>
      </label>
      <label className="inline">
        <input
          type="checkbox"
          name="hideOwn"
          checked={state.hideOwn}
          onChange={(event) => onHideOwn(event.target.checked)}
        />
        Hide this console&apos;s own reads and queries
      </label>
      <TimeRangePicker value={state.range} onChange={(range) => set("range", range)} />
      <ValueHint state={state} seen={seen} onUse={(value) => set("value", value)} />
      <div className="actions">
        <button type="submit" className="primary" disabled={loading}>
          Search
        </button>
        <label className="inline">
          <input type="checkbox" name="live" checked={live} onChange={(event) => onLive(event.target.checked)} />
          Live
        </label>
      </div>
    </form>
  );
}

function lookupPage(
  client: ReturnType<typeof useSession>["client"],
  target: Search,
  token: string | undefined,
  signal?: AbortSignal,
) {
  return client.send(
    new LookupEventsCommand({
      LookupAttributes: target.filters.map((filter): LookupAttribute => ({
        AttributeKey: filter.key,
        AttributeValue: filter.value,
      })),
      StartTime: target.start,
      EndTime: target.end,
      MaxResults: PAGE_SIZE,
      ...(token !== undefined ? { NextToken: token } : {}),
    }),
    signal ? { abortSignal: signal } : {},
  );
}

/**
 * LookupEvents pages of one search; a newer request makes the answers of older ones stale. Page
 * tokens of the current search are remembered, so a page reached by a link (page=3) is walked to
 * once and back/forward between its pages costs one call each.
 */
function useEventPages(client: ReturnType<typeof useSession>["client"]) {
  const [page, setPage] = useState<PageState | undefined>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const request = useRef(0);
  const known = useRef<{ search: Search | undefined; tokens: (string | undefined)[] }>({
    search: undefined,
    tokens: [undefined],
  });
  const load = useCallback(
    async (target: Search, index: number): Promise<void> => {
      const ticket = ++request.current;
      setLoading(true);
      setError(undefined);
      if (known.current.search !== target) known.current = { search: target, tokens: [undefined] };
      const tokens = known.current.tokens;
      try {
        let at = Math.min(index, tokens.length - 1);
        let answer = await lookupPage(client, target, tokens[at]);
        for (;;) {
          if (ticket !== request.current) return;
          if (answer.NextToken) tokens[at + 1] = answer.NextToken;
          if (at >= index || !answer.NextToken) break;
          at += 1;
          answer = await lookupPage(client, target, tokens[at]);
        }
        setPage({
          search: target,
          rows: (answer.Events ?? []).map(rowFromSdkEvent),
          index: at,
          nextToken: answer.NextToken,
        });
      } catch (problem) {
        if (ticket === request.current) setError(describeError(problem).message);
      } finally {
        if (ticket === request.current) setLoading(false);
      }
    },
    [client],
  );
  return { page, loading, error, load };
}

/** Rows from the live stream inside the search's filters and time window, newest first. */
function useLiveRows(live: boolean, search: Search | undefined) {
  const { session } = useSession();
  const [rows, setRows] = useState<HistoryRow[]>([]);
  const [state, setState] = useState("");
  const key = JSON.stringify(liveWindowOf(search));
  useEffect(() => {
    if (!live) return;
    const controller = new AbortController();
    const active = JSON.parse(key) as LiveWindow;
    const inWindow = (row: HistoryRow): boolean =>
      row.time.getTime() >= active.startMs && (active.endMs === null || row.time.getTime() <= active.endMs);
    void followLiveTail(
      session,
      {
        onRecord: (json) => {
          const row = rowFromLiveRecord(json, session.region, active.filters);
          if (row && inWindow(row)) setRows((current) => [row, ...current].slice(0, LIVE_ROWS_MAX));
        },
        onState: (next, detail) =>
          setState(
            next === "live"
              ? `Live: new events appear as they are recorded${active.endMs === null ? "" : " (only those inside the chosen range)"}`
              : `${next === "connecting" ? "Connecting" : "Reconnecting"}${detail ? `: ${detail}` : ""}`,
          ),
      },
      controller.signal,
    );
    return () => controller.abort();
  }, [live, session, key]);
  const clear = useCallback(() => setRows([]), []);
  return { rows, state, clear };
}

function download(kind: "csv" | "json", rows: HistoryRow[]): void {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  if (kind === "csv") {
    downloadText(`cairn-events-${stamp}.csv`, "text/csv", toCsv(CSV_HEADER, rows.map(csvCells)));
  } else {
    const records = rows.map((row) => row.record);
    downloadText(`cairn-events-${stamp}.json`, "application/json", JSON.stringify({ Records: records }, null, 2));
  }
}

/** Live rows ahead of the first page (each event once), less the console's own reads when asked. */
function useShownRows(page: PageState | undefined, liveRows: HistoryRow[], hideOwn: boolean) {
  const fetched = useMemo(() => {
    if (!page) return liveRows;
    if (page.index !== 0 || liveRows.length === 0) return page.rows;
    const seen = new Set(liveRows.map((row) => row.eventId));
    return [...liveRows, ...page.rows.filter((row) => !seen.has(row.eventId))];
  }, [page, liveRows]);
  return useMemo(() => withoutOwnReads(fetched, hideOwn), [fetched, hideOwn]);
}

/** Values seen in the rows shown since the page opened, for suggestions and the case hint. */
function useSeenValues(rows: HistoryRow[]): SeenValues {
  const [seen, setSeen] = useState<SeenValues>(new Map());
  useEffect(() => setSeen((current) => addSeen(current, rows)), [rows]);
  return seen;
}

/** The search an export covers: the one on screen, with its resolved window and the hiding of own reads. */
function useExportSearch(exported: Search | undefined, hideOwn: boolean): ExportSearch | undefined {
  return useMemo(
    () => exported && { filters: exported.filters, start: exported.start, end: exported.end, hideOwn },
    [exported, hideOwn],
  );
}

/** The AWS console's one click from write events to all events. */
function ShowAll({ form }: { form: FilterState }) {
  return (
    <button
      type="button"
      className="link"
      onClick={() => navigateQuery("history", historyQueryString({ ...form, readOnly: "all" }, 0))}
    >
      Show all events (reads too)
    </button>
  );
}

export function EventHistoryPage() {
  const { client } = useSession();
  const query = useHashQuery();
  const [state, setState] = useState<FilterState>(() => parseHistoryQuery(query).form);
  const [search, setSearch] = useState<Search | undefined>();
  const [live, setLive] = useState(false);
  const [rerun, setRerun] = useState(0);
  const { page, loading, error, load } = useEventPages(client);
  const liveRows = useLiveRows(live, search);
  // The search the URL's filters resolved to: pages of it keep its bounds even for "last hour".
  const resolved = useRef<{ key: string; search: Search } | undefined>(undefined);

  // The URL is the search: a first visit, a shared link, back/forward and the form all land here.
  useEffect(() => {
    const parsed = parseHistoryQuery(query);
    // Hiding the console's own reads filters fetched rows: it is not a new search.
    const key = historyQueryString({ ...parsed.form, hideOwn: false }, 0);
    setState(parsed.form);
    let target = resolved.current?.key === key ? resolved.current.search : undefined;
    if (!target) {
      const { start, end } = resolveRange(parsed.form.range, Date.now());
      const range = parsed.form.range;
      target = { filters: filtersOf(parsed.form), start, end, openEnded: range.mode !== "custom" || range.end === "" };
      resolved.current = { key, search: target };
      liveRows.clear();
    }
    setSearch(target);
    void load(target, parsed.page);
  }, [query, rerun, load, liveRows.clear]);

  const runSearch = (): void => {
    // A new search resolves relative ranges again: "last hour" means the hour before this click.
    resolved.current = undefined;
    const next = historyQueryString(state, 0);
    if (next === query) setRerun((count) => count + 1);
    else navigateQuery("history", next);
  };
  const pivot = useCallback(
    (attribute: LookupAttributeKey, value: string): string =>
      `#/history?${historyQueryString({ ...parseHistoryQuery(query).form, attribute, value }, 0)}`,
    [query],
  );
  const applied = parseHistoryQuery(query);
  const goToPage = (index: number): void => navigateQuery("history", historyQueryString(applied.form, index));
  const hideOwn = (hide: boolean): void => {
    setState((current) => ({ ...current, hideOwn: hide }));
    navigateQuery("history", historyQueryString({ ...applied.form, hideOwn: hide }, applied.page));
  };

  const columns = useColumnChoice();
  const exportSearch = useExportSearch(page?.search, applied.form.hideOwn);

  const { rows, hidden } = useShownRows(page, liveRows.rows, applied.form.hideOwn);
  const seen = useSeenValues(rows);

  return (
    <PivotContext.Provider value={pivot}>
      <section aria-label="Event history">
        <HistoryFilters
          state={state}
          onChange={setState}
          onSearch={runSearch}
          loading={loading}
          live={live}
          onLive={setLive}
          onHideOwn={hideOwn}
          seen={seen}
        />
        {live && (
          <p className="live-state" role="status">
            <span className="dot" aria-hidden="true" /> {liveRows.state}
          </p>
        )}
        {error && <ErrorBanner title="Lookup failed" message={error} />}
        <div className="toolbar">
          <span className="muted" role="status">
            {page ? summary(page.index, rows.length, page.search, hidden) : ""}
          </span>
          {applied.form.readOnly === "false" && <ShowAll form={applied.form} />}
          <div className="buttons">
            <ColumnChooser shown={columns.shown} choose={columns.choose} />
            <button
              type="button"
              disabled={!page || page.index === 0 || loading || !search}
              onClick={() => page && goToPage(page.index - 1)}
            >
              ← Previous
            </button>
            <button
              type="button"
              disabled={!page?.nextToken || loading || !search}
              onClick={() => page?.nextToken && goToPage(page.index + 1)}
            >
              Next →
            </button>
            <button type="button" disabled={rows.length === 0} onClick={() => download("csv", rows)}>
              Download CSV
            </button>
            <button type="button" disabled={rows.length === 0} onClick={() => download("json", rows)}>
              Download JSON
            </button>
          </div>
        </div>
        <ExportAll search={exportSearch} />
        {loading && !page ? (
          <Loading label="Looking up events…" />
        ) : rows.length === 0 && !loading ? (
          !error && (
            <EmptyState title="No events match">
              Widen the time range, clear the attribute, or turn on Live to watch new events arrive.
            </EmptyState>
          )
        ) : (
          <DataTable
            label="Events"
            columns={HISTORY_COLUMNS}
            columnVisibility={columns.visibility}
            data={rows}
            rowId={(row) => row.eventId}
            renderExpanded={(row) => <EventDetails row={row} />}
          />
        )}
        {loading && page && <Loading label="Loading…" />}
      </section>
    </PivotContext.Provider>
  );
}

function summary(index: number, count: number, search: Search, hidden: number): string {
  const filters =
    search.filters.length > 0
      ? ` · ${search.filters.map((filter) => `${filter.key} = ${filter.value}`).join(" and ")}`
      : "";
  const own = hidden > 0 ? ` · ${hidden} hidden (this console's own reads and queries)` : "";
  return `Page ${index + 1} · ${count} event${count === 1 ? "" : "s"}${filters}${own}`;
}
