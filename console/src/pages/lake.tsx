import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { CreateEventDataStoreCommand, type EventDataStore } from "@aws-sdk/client-cloudtrail";
import { createColumnHelper } from "@tanstack/react-table";
import { useSession } from "../session-context.js";
import { describeError } from "../api/cloudtrail.js";
import { downloadText, toCsv } from "../api/download.js";
import {
  cancelLakeQuery,
  fetchResultPage,
  isAbort,
  isTerminal,
  pollLakeQuery,
  startLakeQuery,
  storeIdOf,
  type QueryProgress,
  type ResultPage,
} from "../api/lake-query.js";
import { DataTable } from "../components/data-table.js";
import { preferredStore, StoresError, useEventDataStores } from "../components/event-data-stores.js";
import { EmptyState, ErrorBanner, Loading } from "../components/status.js";
import { SqlEditor, type SqlEditorHandle } from "../components/sql-editor.js";
import { planChart, ResultChart } from "../components/result-chart.js";
import { ZonedTime } from "../components/zoned-time.js";
import { SavedQueries } from "./lake-saved-queries.js";
import { QueryHistory } from "./lake-history.js";
import { statusTone } from "../components/status-tone.js";
import { structAsJson } from "../api/lake-values.js";
import { lakeCellLinks } from "../api/lake-links.js";
import { LakeCell } from "./lake-cell.js";

const RESULTS_PAGE_SIZE = 100;
const RETENTION_MIN = 7;
const RETENTION_MAX = 3653;
const RETENTION_DEFAULT = 366;
const NAME_PATTERN = "[a-zA-Z0-9._\\-]{3,128}";

/** What CreateEventDataStore assumes when no selectors are sent (spec §7.1), sent explicitly. */
const MANAGEMENT_EVENTS = [
  {
    Name: "Default management events",
    FieldSelectors: [{ Field: "eventCategory", Equals: ["Management"] }],
  },
];

/**
 * Management events without CloudTrail's own reads: the polling of this console (LookupEvents,
 * DescribeQuery, GetQueryResults, …) and of any other client. Selectors OR together; within one,
 * fields AND (spec §6.2).
 */
const MANAGEMENT_EVENTS_WITHOUT_CLOUDTRAIL_READS = [
  {
    Name: "Management events of other services",
    FieldSelectors: [
      { Field: "eventCategory", Equals: ["Management"] },
      { Field: "eventSource", NotEquals: ["cloudtrail.amazonaws.com"] },
    ],
  },
  {
    Name: "CloudTrail write calls",
    FieldSelectors: [
      { Field: "eventCategory", Equals: ["Management"] },
      { Field: "eventSource", Equals: ["cloudtrail.amazonaws.com"] },
      { Field: "readOnly", Equals: ["false"] },
    ],
  },
];

interface SampleQuery {
  readonly title: string;
  readonly sql: (id: string) => string;
}

const SAMPLE_QUERIES: readonly SampleQuery[] = [
  {
    title: "Recent events",
    sql: (id) =>
      `SELECT eventTime, eventName, eventSource, userIdentity.arn, sourceIPAddress, errorCode\nFROM ${id}\nORDER BY eventTime DESC\nLIMIT 100`,
  },
  {
    title: "Top event names",
    sql: (id) => `SELECT eventName, COUNT(*) AS events\nFROM ${id}\nGROUP BY eventName\nORDER BY events DESC\nLIMIT 20`,
  },
  {
    title: "Errors by user",
    sql: (id) =>
      `SELECT COALESCE(userIdentity.arn, userIdentity.userName, userIdentity.principalId) AS principal, errorCode, COUNT(*) AS errors\nFROM ${id}\nWHERE errorCode IS NOT NULL AND errorCode <> ''\nGROUP BY 1, 2\nORDER BY errors DESC\nLIMIT 50`,
  },
  {
    title: "Events per hour",
    sql: (id) =>
      `SELECT date_trunc('hour', eventTime) AS hour, COUNT(*) AS events\nFROM ${id}\nWHERE eventTime > date_add('day', -7, now())\nGROUP BY 1\nORDER BY 1`,
  },
  {
    title: "Console logins",
    sql: (id) =>
      `SELECT eventTime, userIdentity.arn, sourceIPAddress, element_at(responseElements, 'ConsoleLogin') AS result,\n  element_at(additionalEventData, 'MFAUsed') AS mfaUsed\nFROM ${id}\nWHERE eventName = 'ConsoleLogin'\nORDER BY eventTime DESC\nLIMIT 100`,
  },
  {
    title: "Access denied",
    sql: (id) =>
      `SELECT eventTime, userIdentity.arn, eventSource, eventName, errorCode, errorMessage\nFROM ${id}\nWHERE errorCode IN ('AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'Client.UnauthorizedOperation')\nORDER BY eventTime DESC\nLIMIT 100`,
  },
];

const numberFormat = new Intl.NumberFormat();

function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return "–";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function formatCount(value: number | undefined): string {
  return value === undefined ? "–" : numberFormat.format(value);
}

const storeColumn = createColumnHelper<EventDataStore>();

function storeColumns() {
  return [
    storeColumn.accessor((store) => store.Name ?? "", { id: "name", header: "Name" }),
    storeColumn.accessor((store) => storeIdOf(store), {
      id: "id",
      header: "ID / ARN",
      cell: (info) => (
        <div className="store-id">
          <code>{info.getValue()}</code>
          <span className="muted wrap">{info.row.original.EventDataStoreArn}</span>
        </div>
      ),
    }),
    storeColumn.accessor((store) => store.Status ?? "", {
      id: "status",
      header: "Status",
      cell: (info) => <span className={statusTone(info.getValue())}>{info.getValue()}</span>,
    }),
    storeColumn.accessor((store) => store.RetentionPeriod ?? 0, {
      id: "retention",
      header: "Retention",
      cell: (info) => `${formatCount(info.getValue())} days`,
    }),
    storeColumn.accessor((store) => store.CreatedTimestamp?.getTime() ?? 0, {
      id: "created",
      header: "Created",
      cell: (info) => {
        const created = info.row.original.CreatedTimestamp;
        return <ZonedTime date={created} seconds={false} />;
      },
    }),
  ];
}

function CreateStoreForm({ onCreated }: { onCreated: (store: EventDataStore) => void }) {
  const { client } = useSession();
  const [name, setName] = useState("");
  const [retention, setRetention] = useState(String(RETENTION_DEFAULT));
  const [withoutReads, setWithoutReads] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [created, setCreated] = useState<string | undefined>();

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setCreated(undefined);
    try {
      const answer = await client.send(
        new CreateEventDataStoreCommand({
          Name: name.trim(),
          RetentionPeriod: Number(retention),
          AdvancedEventSelectors: withoutReads ? MANAGEMENT_EVENTS_WITHOUT_CLOUDTRAIL_READS : MANAGEMENT_EVENTS,
        }),
      );
      setCreated(answer.Name ?? name);
      setName("");
      onCreated(answer);
    } catch (problem) {
      const described = describeError(problem);
      setError(described.code ? `${described.code}: ${described.message}` : described.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="filters create-store"
      aria-label="Create event data store"
      onSubmit={(event) => void submit(event)}
    >
      <label>
        Name
        <input
          name="name"
          required
          pattern={NAME_PATTERN}
          title="3–128 letters, digits, dots, underscores or hyphens"
          placeholder="my-event-data-store"
          value={name}
          onChange={(event) => setName(event.target.value)}
        />
      </label>
      <label>
        Retention (days)
        <input
          name="retention"
          type="number"
          required
          min={RETENTION_MIN}
          max={RETENTION_MAX}
          step={1}
          value={retention}
          onChange={(event) => setRetention(event.target.value)}
        />
      </label>
      <label className="inline">
        <input type="checkbox" checked={withoutReads} onChange={(event) => setWithoutReads(event.target.checked)} />
        Leave out CloudTrail&apos;s own read calls (this console&apos;s Event history and Lake polling)
      </label>
      <p className="muted hint">Events: management events (the default selector). Retention 7–3653 days.</p>
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Creating…" : "Create event data store"}
        </button>
      </div>
      {error && (
        <div className="form-message">
          <ErrorBanner title="Could not create the event data store" message={error} />
        </div>
      )}
      {created && (
        <p className="form-message banner ok" role="status">
          Created event data store {created}.
        </p>
      )}
    </form>
  );
}

interface RunState {
  readonly sql: string;
  readonly progress?: QueryProgress;
  readonly error?: string;
}

interface ResultsState {
  readonly queryId: string;
  /** pages[i] is the i-th GetQueryResults page, once fetched. */
  readonly pages: ResultPage[];
  readonly index: number;
  readonly loading: boolean;
  readonly error?: string;
}

function QueryStatusView({ run, canceling }: { run: RunState | undefined; canceling: boolean }) {
  const progress = run?.progress;
  const stats = progress?.statistics;
  const status = progress?.status ?? (run && !run.error ? "STARTING" : undefined);
  return (
    <div className="query-status">
      <div role="status" aria-live="polite" aria-label="Query status" className="query-status-line">
        {status ? (
          <>
            Status: <span className={statusTone(status)}>{status}</span>
            {!isTerminal(status) && <span className="spinner" aria-hidden="true" />}
            {canceling && !isTerminal(status) && <span className="muted"> Cancelling…</span>}
            {progress?.queryId && (
              <span className="muted query-id">
                Query ID <code>{progress.queryId}</code>
              </span>
            )}
          </>
        ) : (
          <span className="muted">No query run yet. Press Run or Ctrl+Enter (⌘+Enter on a Mac).</span>
        )}
      </div>
      {/* A failed statement read nothing worth counting: no statistics for it. */}
      {stats && status !== "FAILED" && (
        <dl className="key-fields query-stats" aria-label="Query statistics">
          <div>
            <dt>Events matched</dt>
            <dd>{formatCount(stats.EventsMatched)}</dd>
          </div>
          <div>
            <dt>Events scanned</dt>
            <dd>{formatCount(stats.EventsScanned)}</dd>
          </div>
          <div>
            <dt>Bytes scanned</dt>
            <dd>{formatBytes(stats.BytesScanned)}</dd>
          </div>
          <div>
            <dt>Execution time</dt>
            <dd>
              {stats.ExecutionTimeInMillis === undefined ? "–" : `${formatCount(stats.ExecutionTimeInMillis)} ms`}
            </dd>
          </div>
        </dl>
      )}
    </div>
  );
}

function ResultsView({
  results,
  onPage,
}: {
  results: ResultsState;
  onPage: (queryId: string, pages: ResultPage[], index: number) => void;
}) {
  const page = results.pages[results.index];
  const fetched = useMemo(() => {
    const pages = results.pages.filter((candidate): candidate is ResultPage => candidate !== undefined);
    const first = pages.find((candidate) => candidate.columns.length > 0);
    return { columns: first?.columns ?? [], rows: pages.flatMap((candidate) => candidate.rows) };
  }, [results.pages]);
  const chart = useMemo(() => planChart(fetched), [fetched]);
  const resultColumns = useMemo(() => {
    const helper = createColumnHelper<string[]>();
    const links = lakeCellLinks(page?.columns ?? []);
    return (page?.columns ?? []).map((name, index) =>
      helper.accessor((row) => row[index] ?? "", {
        id: `c${index}`,
        header: name,
        // Structs and maps as JSON; the raw Lake text stays in the tooltip and the CSV.
        cell: (info) => {
          const json = structAsJson(info.getValue());
          if (json !== undefined) return <code title={info.getValue()}>{json}</code>;
          return <LakeCell value={info.getValue()} href={links[index]?.(info.row.original)} />;
        },
      }),
    );
  }, [page?.columns]);
  const totalRows = page?.totalResultsCount;
  const firstRow = results.index * RESULTS_PAGE_SIZE;

  const download = (): void => {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    downloadText(`cairn-lake-${stamp}.csv`, "text/csv", toCsv(fetched.columns, fetched.rows));
  };

  return (
    <>
      <h2>Results</h2>
      {results.error && <ErrorBanner title="Could not fetch results" message={results.error} />}
      <div className="toolbar">
        <span className="muted" role="status" aria-label="Results page">
          {page && page.rows.length === 0 && results.index === 0
            ? "No rows"
            : page
              ? `Page ${results.index + 1} · rows ${firstRow + 1}–${firstRow + page.rows.length}${
                  totalRows !== undefined ? ` of ${formatCount(totalRows)}` : ""
                }`
              : ""}
        </span>
        <div className="buttons">
          <button
            type="button"
            disabled={results.loading || results.index === 0}
            onClick={() => onPage(results.queryId, results.pages, results.index - 1)}
          >
            ← Previous
          </button>
          <button
            type="button"
            disabled={results.loading || !page?.nextToken}
            onClick={() => onPage(results.queryId, results.pages, results.index + 1)}
          >
            Next →
          </button>
          <button type="button" disabled={fetched.rows.length === 0} onClick={download}>
            Download CSV
          </button>
        </div>
      </div>
      {results.loading && <Loading label="Fetching results…" />}
      {page && page.rows.length === 0 && !results.loading && <EmptyState title="The query returned no rows" />}
      {chart && page && page.rows.length > 0 && (
        <ResultChart plan={chart} title={`Result chart: ${chart.value} by ${chart.label}`} />
      )}
      {page && page.rows.length > 0 && (
        <DataTable label="Query results" columns={resultColumns} data={page.rows} rowId={(_, index) => String(index)} />
      )}
    </>
  );
}

function useLakeQuery() {
  const { client } = useSession();
  const [run, setRun] = useState<RunState | undefined>();
  const [results, setResults] = useState<ResultsState | undefined>();
  const [canceling, setCanceling] = useState(false);
  const running = useRef<AbortController | undefined>(undefined);

  // Leaving the page abandons the running query; lake-query cancels it on the server.
  useEffect(() => () => running.current?.abort(), []);

  const loadPage = useCallback(
    async (queryId: string, pages: ResultPage[], index: number, signal?: AbortSignal): Promise<void> => {
      if (pages[index]) {
        setResults({ queryId, pages, index, loading: false });
        return;
      }
      const previous = pages[index - 1];
      setResults({ queryId, pages, index: Math.max(0, index - 1), loading: true });
      try {
        const page = await fetchResultPage(client, queryId, {
          pageSize: RESULTS_PAGE_SIZE,
          ...(previous?.nextToken !== undefined ? { nextToken: previous.nextToken } : {}),
          ...(signal ? { signal } : {}),
        });
        const next = [...pages];
        next[index] = page;
        setResults((current) =>
          current?.queryId === queryId ? { queryId, pages: next, index, loading: false } : current,
        );
      } catch (problem) {
        if (isAbort(problem) || signal?.aborted) return;
        setResults((current) =>
          current?.queryId === queryId
            ? { ...current, loading: false, error: describeError(problem).message }
            : current,
        );
      }
    },
    [client],
  );

  const runQuery = useCallback(
    async (statement: string): Promise<void> => {
      if (statement === "") return;
      running.current?.abort();
      const controller = new AbortController();
      running.current = controller;
      const { signal } = controller;
      setCanceling(false);
      setResults(undefined);
      setRun({ sql: statement });
      try {
        const queryId = await startLakeQuery(client, statement, signal);
        if (signal.aborted) return;
        setRun({ sql: statement, progress: { queryId, status: "QUEUED" } });
        const final = await pollLakeQuery(client, queryId, {
          signal,
          onProgress: (progress) => {
            if (!signal.aborted) setRun({ sql: statement, progress });
          },
        });
        if (signal.aborted) return;
        // TIMED_OUT queries keep their partial results (spec §7.2).
        if (final.status === "FINISHED" || final.status === "TIMED_OUT") await loadPage(queryId, [], 0, signal);
      } catch (problem) {
        if (isAbort(problem) || signal.aborted) return;
        setRun({ sql: statement, error: describeError(problem).message });
      } finally {
        if (running.current === controller) setCanceling(false);
      }
    },
    [client, loadPage],
  );

  const cancel = async (): Promise<void> => {
    const queryId = run?.progress?.queryId;
    if (!queryId) return;
    setCanceling(true);
    try {
      await cancelLakeQuery(client, queryId);
    } catch (problem) {
      setCanceling(false);
      setRun((current) => (current ? { ...current, error: describeError(problem).message } : current));
    }
  };

  return { run, results, canceling, loadPage, runQuery, cancel };
}

function QueryWorkbench({
  stores,
  selectedId,
  onSelect,
}: {
  stores: EventDataStore[];
  selectedId: string;
  onSelect: (id: string) => void;
}) {
  const [sql, setSql] = useState("");
  const editor = useRef<SqlEditorHandle | null>(null);
  const sqlRef = useRef(sql);
  sqlRef.current = sql;
  const { run, results, canceling, loadPage, runQuery, cancel } = useLakeQuery();
  const runNow = useCallback(() => void runQuery(sqlRef.current.trim()), [runQuery]);

  // A first visit with a store starts from a ready-made query, as the CloudTrail Lake editor does.
  useEffect(() => {
    if (selectedId !== "" && sqlRef.current.trim() === "") setSql(SAMPLE_QUERIES[0]!.sql(selectedId));
  }, [selectedId]);

  const tables = useMemo(() => stores.map(storeIdOf), [stores]);
  const selected = stores.find((store) => storeIdOf(store) === selectedId);
  const active = run !== undefined && !run.error && !isTerminal(run.progress?.status);

  return (
    <>
      <h2>Query</h2>
      <div className="panel query-panel">
        <div className="query-controls">
          <label>
            Event data store
            <select name="store" value={selectedId} onChange={(event) => onSelect(event.target.value)}>
              {stores.map((store) => (
                <option key={storeIdOf(store)} value={storeIdOf(store)}>
                  {store.Name} ({storeIdOf(store).slice(0, 8)}…)
                </option>
              ))}
            </select>
          </label>
          <div role="group" aria-labelledby="sample-queries-label" className="sample-queries">
            <span id="sample-queries-label" className="group-label">
              Sample queries
            </span>
            <div className="buttons">
              {SAMPLE_QUERIES.map((sample) => (
                <button
                  key={sample.title}
                  type="button"
                  disabled={selectedId === ""}
                  onClick={() => setSql(sample.sql(selectedId))}
                >
                  {sample.title}
                </button>
              ))}
            </div>
          </div>
        </div>
        <div role="group" aria-labelledby="insert-id-label" className="insert-ids">
          <span id="insert-id-label" className="group-label">
            Insert store ID
          </span>
          <div className="buttons">
            {stores.map((store) => (
              <button
                key={storeIdOf(store)}
                type="button"
                className="chip"
                aria-label={`Insert ID of ${store.Name ?? storeIdOf(store)}`}
                title={storeIdOf(store)}
                onClick={() => editor.current?.insert(storeIdOf(store))}
              >
                {store.Name}
              </button>
            ))}
          </div>
        </div>
        <SavedQueries sql={sql} onOpen={setSql} />
        <SqlEditor value={sql} onChange={setSql} onRun={runNow} tables={tables} handle={editor} />
        <div className="toolbar">
          <div className="buttons">
            <button type="button" className="primary" disabled={sql.trim() === ""} onClick={runNow}>
              Run
            </button>
            <button
              type="button"
              className="danger"
              disabled={!active || !run?.progress?.queryId || canceling}
              onClick={() => void cancel()}
            >
              Cancel
            </button>
          </div>
          <span className="muted">
            {selected ? (
              <>
                <code>FROM {selectedId}</code> is {selected.Name}
              </>
            ) : null}
          </span>
        </div>
        <QueryStatusView run={run} canceling={canceling} />
        {run?.error && <ErrorBanner title="Query failed" message={run.error} />}
        {!run?.error && run?.progress?.errorMessage && (
          <ErrorBanner title={`Query ${run.progress.status}`} message={run.progress.errorMessage} />
        )}
        <QueryHistory
          storeId={selectedId}
          refreshKey={`${run?.progress?.queryId ?? ""}:${isTerminal(run?.progress?.status) ? "ended" : ""}`}
          onOpen={(past) => {
            setSql(past.statement ?? "");
            // A finished query's rows are still on the server (7 days): show them without running again.
            if (past.status === "FINISHED") void loadPage(past.queryId, [], 0);
          }}
        />
      </div>
      {results && <ResultsView results={results} onPage={(...args) => void loadPage(...args)} />}
    </>
  );
}

export function LakePage() {
  const list = useEventDataStores();
  const { stores, loading: storesLoading } = list;
  const [selectedId, setSelectedId] = useState("");
  // Open while there is no store to query (and once the user opens it); never closed under the user.
  const [storesOpen, setStoresOpen] = useState(false);

  // Keeps the selection while it exists, else the preferred store; `select` picks a new one.
  const choose = useCallback((all: EventDataStore[], select?: string): void => {
    if (all.length === 0) setStoresOpen(true);
    const ids = all.map(storeIdOf);
    const preferred = preferredStore(all);
    setSelectedId((current) =>
      select && ids.includes(select) ? select : ids.includes(current) ? current : preferred ? storeIdOf(preferred) : "",
    );
  }, []);
  useEffect(() => {
    if (stores) choose(stores);
  }, [stores, choose]);
  const loadStores = async (select?: string): Promise<void> => {
    const all = await list.reload();
    if (all) choose(all, select);
  };

  const columns = useMemo(() => storeColumns(), []);
  const storesReady = stores !== undefined;
  const hasStores = storesReady && stores.length > 0;

  return (
    <section aria-label="Lake" className="lake">
      {/* The editor and its results first: the stores are one click away, not above the results. */}
      {hasStores && <QueryWorkbench stores={stores} selectedId={selectedId} onSelect={setSelectedId} />}
      <details
        className="stores-section"
        open={storesOpen}
        onToggle={(event) => setStoresOpen((event.target as HTMLDetailsElement).open)}
      >
        <summary>
          <h2>Event data stores{hasStores ? ` (${stores.length})` : ""}</h2>
        </summary>
        <StoresError list={list} />
        {!storesReady && storesLoading && <Loading label="Loading event data stores…" />}
        {storesReady && !hasStores && (
          <EmptyState title="No event data stores yet">
            Create one below, then send events to it (trails, <code>cairn import</code>) and query them with SQL.
          </EmptyState>
        )}
        {hasStores && (
          <>
            <div className="toolbar">
              <span className="muted">
                {stores.length} event data store{stores.length === 1 ? "" : "s"}
              </span>
              <button type="button" disabled={storesLoading} onClick={() => void loadStores()}>
                Refresh
              </button>
            </div>
            <DataTable
              label="Event data stores"
              columns={columns}
              data={stores}
              rowId={(store) => store.EventDataStoreArn ?? store.Name ?? ""}
            />
          </>
        )}
        <h3 className="form-title">Create event data store</h3>
        <CreateStoreForm onCreated={(store) => void loadStores(storeIdOf(store))} />
      </details>
    </section>
  );
}
