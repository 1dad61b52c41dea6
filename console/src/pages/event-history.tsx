import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { LookupEventsCommand, type LookupAttribute } from "@aws-sdk/client-cloudtrail";
import { createColumnHelper } from "@tanstack/react-table";
import { useSession } from "../session-context.js";
import { describeError } from "../api/cloudtrail.js";
import { followLiveTail } from "../api/live-tail.js";
import { downloadText, toCsv } from "../api/download.js";
import {
  CSV_HEADER,
  csvCells,
  rowFromLiveRecord,
  rowFromSdkEvent,
  type AttributeFilter,
  type HistoryRow,
} from "../api/history-rows.js";
import type { LookupAttributeKey } from "../../../src/consumers/event-history/event-history.js";
import { DataTable } from "../components/data-table.js";
import { EmptyState, ErrorBanner, Loading } from "../components/status.js";
import { JsonView } from "../components/json-view.js";
import { resolveRange, TimeRangePicker, type TimeRangeValue } from "../components/time-range.js";

const ATTRIBUTES: { key: LookupAttributeKey; label: string; placeholder: string }[] = [
  { key: "EventName", label: "Event name", placeholder: "ConsoleLogin" },
  { key: "EventSource", label: "Event source", placeholder: "s3.amazonaws.com" },
  { key: "Username", label: "User name", placeholder: "alice" },
  { key: "ResourceType", label: "Resource type", placeholder: "AWS::S3::Bucket" },
  { key: "ResourceName", label: "Resource name", placeholder: "arn:aws:s3:::my-bucket" },
  { key: "EventId", label: "Event ID", placeholder: "1b2c…" },
  { key: "AccessKeyId", label: "AWS access key", placeholder: "AKIA…" },
];

const PAGE_SIZE = 50;
const LIVE_ROWS_MAX = 500;

interface Search {
  readonly filters: AttributeFilter[];
  readonly start: Date;
  readonly end: Date;
}

interface PageState {
  readonly rows: HistoryRow[];
  /** tokens[i] fetches page i; tokens[0] is undefined (the first page). */
  readonly tokens: (string | undefined)[];
  readonly index: number;
  readonly nextToken: string | undefined;
}

const column = createColumnHelper<HistoryRow>();
const COLUMNS = [
  column.accessor((row) => row.time.getTime(), {
    id: "time",
    header: "Event time",
    cell: (info) => <time dateTime={info.row.original.time.toISOString()}>{formatTime(info.row.original.time)}</time>,
  }),
  column.accessor("eventName", { header: "Event name" }),
  column.accessor("username", { header: "User name" }),
  column.accessor("eventSource", { header: "Event source" }),
  column.accessor((row) => row.resources.map((resource) => resource.type).join(", "), {
    id: "resourceType",
    header: "Resource type",
  }),
  column.accessor((row) => row.resources.map((resource) => resource.name).join(", "), {
    id: "resourceName",
    header: "Resource name",
    cell: (info) => <span className="wrap">{info.getValue()}</span>,
  }),
  column.accessor("errorCode", {
    header: "Error code",
    cell: (info) => (info.getValue() ? <span className="badge error">{info.getValue()}</span> : null),
  }),
];

function formatTime(date: Date): string {
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

function KeyFields({ row }: { row: HistoryRow }) {
  const record = row.record;
  const fields: [string, unknown][] = [
    ["Event ID", row.eventId],
    ["Event time", row.time.toISOString()],
    ["Region", record["awsRegion"]],
    ["Source IP address", record["sourceIPAddress"]],
    ["User agent", record["userAgent"]],
    ["AWS access key", row.accessKeyId],
    ["Read-only", row.readOnly],
    ["Request ID", record["requestID"]],
    ["Error code", record["errorCode"]],
    ["Error message", record["errorMessage"]],
  ];
  return (
    <dl className="key-fields">
      {fields
        .filter(([, value]) => typeof value === "string" && value !== "")
        .map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{String(value)}</dd>
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

export function EventHistoryPage() {
  const { client, session } = useSession();
  const [attribute, setAttribute] = useState<LookupAttributeKey | "">("");
  const [value, setValue] = useState("");
  const [readOnly, setReadOnly] = useState<"" | "true" | "false">("");
  const [range, setRange] = useState<TimeRangeValue>({ mode: "90d", start: "", end: "" });
  const [search, setSearch] = useState<Search | undefined>();
  const [page, setPage] = useState<PageState | undefined>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [live, setLive] = useState(false);
  const [liveState, setLiveState] = useState<string>("");
  const [liveRows, setLiveRows] = useState<HistoryRow[]>([]);
  const request = useRef(0);

  const filtersNow = useCallback((): AttributeFilter[] => {
    const filters: AttributeFilter[] = [];
    if (attribute !== "" && value.trim() !== "") filters.push({ key: attribute, value: value.trim() });
    if (readOnly !== "") filters.push({ key: "ReadOnly", value: readOnly });
    return filters;
  }, [attribute, value, readOnly]);

  const load = useCallback(
    async (target: Search, tokens: (string | undefined)[], index: number): Promise<void> => {
      const ticket = ++request.current;
      setLoading(true);
      setError(undefined);
      try {
        const token = tokens[index];
        const answer = await client.send(
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
        );
        if (ticket !== request.current) return;
        setPage({
          rows: (answer.Events ?? []).map(rowFromSdkEvent),
          tokens,
          index,
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

  const runSearch = useCallback(() => {
    const { start, end } = resolveRange(range, Date.now());
    const next: Search = { filters: filtersNow(), start, end };
    setSearch(next);
    setLiveRows([]);
    void load(next, [undefined], 0);
  }, [filtersNow, load, range]);

  // The first visit shows the newest events straight away, like the CloudTrail console.
  useEffect(() => runSearch(), []);

  useEffect(() => {
    if (!live) return;
    const controller = new AbortController();
    const filters = filtersNow();
    void followLiveTail(
      session,
      {
        onRecord: (json) => {
          const row = rowFromLiveRecord(json, session.region, filters);
          if (row) setLiveRows((rows) => [row, ...rows].slice(0, LIVE_ROWS_MAX));
        },
        onState: (state, detail) =>
          setLiveState(
            state === "live"
              ? "Live: new events appear as they are recorded"
              : `${state}${detail ? `: ${detail}` : ""}`,
          ),
      },
      controller.signal,
    );
    return () => controller.abort();
  }, [live, session, filtersNow]);

  const rows = useMemo(() => {
    if (!page) return liveRows;
    if (page.index !== 0 || liveRows.length === 0) return page.rows;
    const seen = new Set(liveRows.map((row) => row.eventId));
    return [...liveRows, ...page.rows.filter((row) => !seen.has(row.eventId))];
  }, [page, liveRows]);

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    runSearch();
  };

  const download = (kind: "csv" | "json"): void => {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    if (kind === "csv") {
      downloadText(`cairn-events-${stamp}.csv`, "text/csv", toCsv(CSV_HEADER, rows.map(csvCells)));
    } else {
      const records = rows.map((row) => row.record);
      downloadText(`cairn-events-${stamp}.json`, "application/json", JSON.stringify({ Records: records }, null, 2));
    }
  };

  const selected = ATTRIBUTES.find((candidate) => candidate.key === attribute);
  return (
    <section aria-label="Event history">
      <form className="filters" onSubmit={submit} role="search">
        <label>
          Lookup attribute
          <select
            name="attribute"
            value={attribute}
            onChange={(event) => setAttribute(event.target.value as LookupAttributeKey | "")}
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
            value={value}
            disabled={attribute === ""}
            placeholder={selected?.placeholder ?? "Pick an attribute first"}
            onChange={(event) => setValue(event.target.value)}
          />
        </label>
        <label>
          Read-only
          <select
            name="readOnly"
            value={readOnly}
            onChange={(event) => setReadOnly(event.target.value as "" | "true" | "false")}
          >
            <option value="">All events</option>
            <option value="true">Read-only</option>
            <option value="false">Write (not read-only)</option>
          </select>
        </label>
        <TimeRangePicker value={range} onChange={setRange} />
        <div className="actions">
          <button type="submit" className="primary" disabled={loading}>
            Search
          </button>
          <label className="inline">
            <input type="checkbox" name="live" checked={live} onChange={(event) => setLive(event.target.checked)} />
            Live
          </label>
        </div>
      </form>
      {live && (
        <p className="live-state" role="status">
          <span className="dot" aria-hidden="true" /> {liveState}
        </p>
      )}
      {error && <ErrorBanner title="Lookup failed" message={error} />}
      <div className="toolbar">
        <span className="muted" role="status">
          {page
            ? `Page ${page.index + 1} · ${rows.length} event${rows.length === 1 ? "" : "s"}${
                search && search.filters.length > 0
                  ? ` · ${search.filters.map((filter) => `${filter.key} = ${filter.value}`).join(" and ")}`
                  : ""
              }`
            : ""}
        </span>
        <div className="buttons">
          <button
            type="button"
            disabled={!page || page.index === 0 || loading || !search}
            onClick={() => search && page && void load(search, page.tokens, page.index - 1)}
          >
            ← Previous
          </button>
          <button
            type="button"
            disabled={!page?.nextToken || loading || !search}
            onClick={() =>
              search &&
              page?.nextToken &&
              void load(search, [...page.tokens.slice(0, page.index + 1), page.nextToken], page.index + 1)
            }
          >
            Next →
          </button>
          <button type="button" disabled={rows.length === 0} onClick={() => download("csv")}>
            Download CSV
          </button>
          <button type="button" disabled={rows.length === 0} onClick={() => download("json")}>
            Download JSON
          </button>
        </div>
      </div>
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
          columns={COLUMNS}
          data={rows}
          rowId={(row) => row.eventId}
          renderExpanded={(row) => <EventDetails row={row} />}
        />
      )}
      {loading && page && <Loading label="Loading…" />}
    </section>
  );
}
