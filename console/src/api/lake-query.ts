import {
  CancelQueryCommand,
  DescribeQueryCommand,
  GetQueryResultsCommand,
  ListEventDataStoresCommand,
  ListQueriesCommand,
  StartQueryCommand,
  type CloudTrailClient,
  type EventDataStore,
  type QueryStatisticsForDescribeQuery,
  type QueryStatus,
} from "@aws-sdk/client-cloudtrail";

/** A Lake result as a table: column names from the first row's keys, every value a string (spec §7.2). */
export interface LakeTable {
  readonly columns: string[];
  readonly rows: string[][];
}

export interface QueryProgress {
  readonly queryId: string;
  readonly status: QueryStatus | "STARTING";
  readonly statistics?: QueryStatisticsForDescribeQuery;
  readonly errorMessage?: string;
}

export interface ResultPage extends LakeTable {
  readonly nextToken?: string;
  readonly totalResultsCount?: number;
  /** The query's status as GetQueryResults answered it (rows only come with FINISHED). */
  readonly status?: QueryStatus;
  readonly errorMessage?: string;
}

/** The query ended in FAILED, CANCELLED or TIMED_OUT. */
class LakeQueryError extends Error {
  override readonly name = "LakeQueryError";
  constructor(readonly progress: QueryProgress) {
    super(
      progress.errorMessage ??
        (progress.status === "CANCELLED"
          ? "The query was cancelled."
          : progress.status === "TIMED_OUT"
            ? "The query timed out."
            : `The query ended with status ${progress.status}.`),
    );
  }
}

const TERMINAL = new Set<string>(["FINISHED", "FAILED", "CANCELLED", "TIMED_OUT"]);
const POLL_FIRST_MS = 150;
const POLL_MAX_MS = 2000;
const START_ATTEMPTS = 6;

export function isTerminal(status: string | undefined): boolean {
  return status !== undefined && TERMINAL.has(status);
}

function abortError(): Error {
  return new DOMException("The query was abandoned.", "AbortError");
}

export function isAbort(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === "AbortError";
}

/** Waits, or rejects with an AbortError as soon as `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** `'YYYY-MM-DD HH:MM:SS'` in UTC: how Lake SQL compares against eventTime. */
export function sqlTimestamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}

/** Lake rows are lists of single-key objects; the first row names the columns. */
function tableOf(resultRows: readonly (readonly Record<string, string>[])[] | undefined): LakeTable {
  const rows = resultRows ?? [];
  const first = rows[0] ?? [];
  const columns = first.map((cell) => Object.keys(cell)[0] ?? "");
  return {
    columns,
    rows: rows.map((row) => row.map((cell) => Object.values(cell)[0] ?? "")),
  };
}

/** StartQuery, waiting and retrying while the account already runs its maximum of concurrent queries. */
export async function startLakeQuery(client: CloudTrailClient, sql: string, signal?: AbortSignal): Promise<string> {
  let delayMs = 500;
  for (let attempt = 1; ; attempt++) {
    try {
      const answer = await client.send(new StartQueryCommand({ QueryStatement: sql }), { abortSignal: signal });
      if (!answer.QueryId) throw new Error("Cairn answered StartQuery without a QueryId.");
      return answer.QueryId;
    } catch (error) {
      if (signal?.aborted) throw abortError();
      const name = (error as { name?: unknown }).name;
      if (name !== "MaxConcurrentQueriesException" || attempt >= START_ATTEMPTS) throw error;
    }
    await sleep(delayMs, signal);
    delayMs = Math.min(delayMs * 2, 4000);
  }
}

/** CancelQuery, ignoring a query that has already ended (InactiveQueryException). */
export async function cancelLakeQuery(client: CloudTrailClient, queryId: string): Promise<void> {
  try {
    await client.send(new CancelQueryCommand({ QueryId: queryId }));
  } catch (error) {
    if ((error as { name?: unknown }).name !== "InactiveQueryException") throw error;
  }
}

export interface PollOptions {
  readonly signal?: AbortSignal;
  /** Each wait is this much longer than the last (default 1.6): lower for short queries a page waits on. */
  readonly pollGrowth?: number;
  readonly onProgress?: (progress: QueryProgress) => void;
}

/**
 * Polls DescribeQuery with back-off until the query ends. When `signal` aborts first, the query is
 * cancelled on the server (so it stops counting against the concurrency limit) and an AbortError thrown.
 */
export async function pollLakeQuery(
  client: CloudTrailClient,
  queryId: string,
  { signal, onProgress, pollGrowth = 1.6 }: PollOptions = {},
): Promise<QueryProgress> {
  let delayMs = POLL_FIRST_MS;
  try {
    for (;;) {
      const called = Date.now();
      const answer = await client.send(new DescribeQueryCommand({ QueryId: queryId }), { abortSignal: signal });
      const progress: QueryProgress = {
        queryId,
        status: answer.QueryStatus ?? "QUEUED",
        ...(answer.QueryStatistics ? { statistics: answer.QueryStatistics } : {}),
        ...(answer.ErrorMessage ? { errorMessage: answer.ErrorMessage } : {}),
      };
      onProgress?.(progress);
      if (isTerminal(progress.status)) return progress;
      await sleep(waitAfter(called, delayMs), signal);
      delayMs = Math.min(Math.round(delayMs * pollGrowth), POLL_MAX_MS);
    }
  } catch (error) {
    throw abandoned(client, queryId, error, signal);
  }
}

/**
 * The wait before asking again: the back-off less the time the answer took. Cairn holds a running
 * query's DescribeQuery or GetQueryResults until it ends, up to a second (decision 0020 point 8):
 * after such an answer the client asks again at once instead of adding its own wait to the server's.
 */
function waitAfter(calledMs: number, delayMs: number): number {
  return Math.max(0, delayMs - (Date.now() - calledMs));
}

/** On abort the query is cancelled on the server (so it stops counting against the limit). */
function abandoned(client: CloudTrailClient, queryId: string, error: unknown, signal?: AbortSignal): unknown {
  if (!signal?.aborted) return error;
  void cancelLakeQuery(client, queryId).catch(() => undefined);
  return abortError();
}

/** One GetQueryResults page. */
export async function fetchResultPage(
  client: CloudTrailClient,
  queryId: string,
  { nextToken, pageSize = 1000, signal }: { nextToken?: string; pageSize?: number; signal?: AbortSignal } = {},
): Promise<ResultPage> {
  const answer = await client.send(
    new GetQueryResultsCommand({
      QueryId: queryId,
      MaxQueryResults: pageSize,
      ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
    }),
    { abortSignal: signal },
  );
  const table = tableOf(answer.QueryResultRows);
  return {
    ...table,
    ...(answer.NextToken ? { nextToken: answer.NextToken } : {}),
    ...(answer.QueryStatistics?.TotalResultsCount !== undefined
      ? { totalResultsCount: answer.QueryStatistics.TotalResultsCount }
      : {}),
    ...(answer.QueryStatus !== undefined ? { status: answer.QueryStatus } : {}),
    ...(answer.ErrorMessage ? { errorMessage: answer.ErrorMessage } : {}),
  };
}

/**
 * Waits for the query's end with GetQueryResults itself, which Cairn holds until a running query
 * ends (up to a second): a query that ends within that costs one call, its first page, instead of
 * DescribeQuery polls and then GetQueryResults (issue #16: the dashboard's four queries).
 */
async function firstPageAtEnd(
  client: CloudTrailClient,
  queryId: string,
  { signal, pollGrowth = 1.6 }: PollOptions,
): Promise<{ page: ResultPage; progress: QueryProgress }> {
  let delayMs = POLL_FIRST_MS;
  try {
    for (;;) {
      const called = Date.now();
      const page = await fetchResultPage(client, queryId, signal ? { signal } : {});
      const status = page.status ?? "FINISHED";
      if (isTerminal(status)) {
        const progress = { queryId, status, ...(page.errorMessage ? { errorMessage: page.errorMessage } : {}) };
        return { page, progress };
      }
      await sleep(waitAfter(called, delayMs), signal);
      delayMs = Math.min(Math.round(delayMs * pollGrowth), POLL_MAX_MS);
    }
  } catch (error) {
    throw abandoned(client, queryId, error, signal);
  }
}

/** The pages after `first` of a finished query's results, up to `maxRows` in all. */
async function fetchAllResults(
  client: CloudTrailClient,
  queryId: string,
  first: ResultPage,
  { signal, maxRows = 10_000 }: { signal?: AbortSignal; maxRows?: number } = {},
): Promise<LakeTable> {
  let columns: string[] = first.columns;
  const rows: string[][] = [...first.rows];
  let token: string | undefined = first.nextToken;
  while (token !== undefined && rows.length < maxRows) {
    const page = await fetchResultPage(client, queryId, { nextToken: token, ...(signal ? { signal } : {}) });
    if (columns.length === 0) columns = page.columns;
    rows.push(...page.rows);
    token = page.nextToken;
  }
  return { columns, rows: rows.slice(0, maxRows) };
}

export interface LakeQueryOutcome extends LakeTable {
  readonly progress: QueryProgress;
}

/** Start → wait for the end with GetQueryResults → every page. Rejects with LakeQueryError unless the query FINISHED. */
export async function runLakeQuery(
  client: CloudTrailClient,
  sql: string,
  options: PollOptions & { maxRows?: number } = {},
): Promise<LakeQueryOutcome> {
  const queryId = await startLakeQuery(client, sql, options.signal);
  options.onProgress?.({ queryId, status: "QUEUED" });
  const { page, progress } = await firstPageAtEnd(client, queryId, options);
  options.onProgress?.(progress);
  if (progress.status !== "FINISHED") throw new LakeQueryError(progress);
  const table = await fetchAllResults(client, queryId, page, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.maxRows !== undefined ? { maxRows: options.maxRows } : {}),
  });
  return { ...table, progress };
}

/** Runs `work` over `items` with at most `limit` in flight; settles like Promise.allSettled. */
async function mapWithConcurrency<Item, Result>(
  items: readonly Item[],
  limit: number,
  work: (item: Item, index: number) => Promise<Result>,
): Promise<PromiseSettledResult<Result>[]> {
  const results: PromiseSettledResult<Result>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { status: "fulfilled", value: await work(items[index]!, index) };
      } catch (reason) {
        results[index] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => worker()));
  return results;
}

/** The store id is the ARN's last segment; it is the table name in Lake SQL. */
export function storeIdOf(store: EventDataStore): string {
  return (store.EventDataStoreArn ?? "").split("/").pop() ?? "";
}

export async function listAllStores(client: CloudTrailClient, signal?: AbortSignal): Promise<EventDataStore[]> {
  const stores: EventDataStore[] = [];
  let token: string | undefined;
  do {
    const answer = await client.send(
      new ListEventDataStoresCommand({ MaxResults: 1000, ...(token !== undefined ? { NextToken: token } : {}) }),
      { abortSignal: signal },
    );
    stores.push(...(answer.EventDataStores ?? []));
    token = answer.NextToken;
  } while (token !== undefined);
  return stores;
}

export interface PastQuery {
  readonly queryId: string;
  readonly status: string;
  readonly created?: Date;
  /** The statement (DescribeQuery's QueryString); absent when it could not be read. */
  readonly statement?: string;
}

/** The newest queries of a store (ListQueries), each with its statement (DescribeQuery). */
export async function listPastQueries(client: CloudTrailClient, storeId: string, max = 10): Promise<PastQuery[]> {
  const listed = await client.send(new ListQueriesCommand({ EventDataStore: storeId, MaxResults: max }));
  const queries = listed.Queries ?? [];
  const described = await mapWithConcurrency(queries, 4, (query) =>
    client.send(new DescribeQueryCommand({ QueryId: query.QueryId })),
  );
  return queries.map((query, i) => {
    const answer = described[i];
    const statement = answer?.status === "fulfilled" ? answer.value.QueryString : undefined;
    return {
      queryId: query.QueryId ?? "",
      status: query.QueryStatus ?? "",
      ...(query.CreationTime !== undefined ? { created: query.CreationTime } : {}),
      ...(statement !== undefined ? { statement } : {}),
    };
  });
}
