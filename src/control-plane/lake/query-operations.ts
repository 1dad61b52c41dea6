/**
 * StartQuery, DescribeQuery, GetQueryResults, ListQueries, CancelQuery (spec §7.2). A query runs in
 * the background on its own DuckDB connection over the date partitions its WHERE clause can match
 * (query-pruning.ts); its metadata and statistics live in the Lake catalog and its rows in
 * `<lake>/results/<query-id>.json`, both kept 7 days (lake-maintenance.ts). With `DeliveryS3Uri` the
 * rows are also written, signed, to the object store (query-delivery.ts).
 */
import { randomUUID } from "node:crypto";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { DuckDBInstance } from "@duckdb/node-api";
import { ApiError } from "../../lib/api-error.js";
import { optionalInteger, optionalString, optionalTimestampMs } from "../input.js";
import type { OperationContext, OperationHandler } from "../operation.js";
import { requireActive, type LakeOperationDeps } from "./eds-input.js";
import {
  checkDeliveryBucket,
  deliverResults,
  parseDeliveryUri,
  type DeliveryDeps,
  type DeliveryStatus,
  type DeliveryTarget,
} from "./query-delivery.js";
import type { FileSnapshot, FileSnapshots } from "../../lake/compaction/compaction.js";
import type { EventDataStore } from "../../lake/catalog/index.js";
import {
  checkStatement,
  connectForQuery,
  runQuery,
  StatementError,
  type QueryRows,
} from "../../lake/engine/query-engine.js";
import { partitionRanges, type DateRange } from "../../lake/engine/query-pruning.js";
import { rewriteLakeSql, viewNameOf } from "../../lake/engine/query-sql.js";

export const MAX_CONCURRENT_QUERIES = 10;
const QUERY_TIMEOUT_MS = 3_600_000;
/**
 * Queries DuckDB executes at once; the rest wait as QUEUED. DuckDB parallelises each query on its
 * own threads, but every call also holds a libuv pool thread (4 by default), which Parquet writes and
 * file I/O need too: more running queries would starve ingestion.
 */
const RUNNING_SLOTS = 2;
const STATUSES = ["QUEUED", "RUNNING", "FINISHED", "FAILED", "CANCELLED", "TIMED_OUT"];
/**
 * Results kept parsed in memory, newest last, so paging through a large result does not re-read and
 * re-parse its file for every page of 1,000 rows.
 */
const CACHED_RESULTS = 4;
const CACHED_CELLS_MAX = 2_000_000;

export interface QueryDocument {
  readonly id: string;
  readonly accountId: string;
  readonly statement: string;
  readonly storeIds: string[];
  status: string;
  readonly createdMs: number;
  finishedMs?: number;
  errorMessage?: string;
  resultsCount?: number;
  bytesScanned?: number;
  eventsScanned?: number;
  /** Parquet files the query read (after partition pruning). */
  filesScanned?: number;
  /** The region the query was started in: its results are signed with that region's key. */
  readonly region?: string;
  readonly deliveryS3Uri?: string;
  deliveryStatus?: DeliveryStatus;
}

export async function createQueryOperations(
  deps: LakeOperationDeps & {
    duck: DuckDBInstance;
    lakeDir: string;
    nowMs: () => number;
    /** Where DeliveryS3Uri results go; without it StartQuery refuses DeliveryS3Uri. */
    delivery?: DeliveryDeps;
    /** Committed-file snapshots (compaction keeps a query's files until it ends); else the directories. */
    snapshots?: FileSnapshots;
  },
): Promise<Array<[string, OperationHandler]>> {
  const running = new Map<string, { interrupt: () => void; cancelled: boolean }>();
  const waiting: Array<() => void> = [];
  let busySlots = 0;
  const acquire = async (): Promise<void> => {
    if (busySlots < RUNNING_SLOTS) {
      busySlots++;
      return;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else busySlots--;
  };
  const resultsDir = join(deps.lakeDir, "results");
  const cachedResults = new Map<string, QueryRows>();
  const remember = (id: string, result: QueryRows): void => {
    if (result.rows.length * Math.max(1, result.columns.length) > CACHED_CELLS_MAX) return;
    cachedResults.delete(id);
    cachedResults.set(id, result);
    while (cachedResults.size > CACHED_RESULTS) cachedResults.delete(cachedResults.keys().next().value!);
  };
  const resultsOf = async (id: string): Promise<QueryRows> => {
    const cached = cachedResults.get(id);
    if (cached !== undefined) return cached;
    const result = JSON.parse(await readFile(join(resultsDir, `${id}.json`), "utf8")) as QueryRows;
    remember(id, result);
    return result;
  };
  const save = (q: QueryDocument): Promise<void> => deps.catalog.putDocument("queries", q);
  // A delivery cut short by a restart never completes: say so instead of PENDING forever.
  for (const q of await deps.catalog.documents<QueryDocument>("queries"))
    if (q.deliveryStatus === "PENDING" && !(q.status === "QUEUED" || q.status === "RUNNING"))
      await save({ ...q, deliveryStatus: "FAILED" });
  const load = async (input: Record<string, unknown>, context: OperationContext): Promise<QueryDocument> => {
    const id = optionalString(input, "QueryId");
    if (id === undefined) throw new ApiError("InvalidParameterException", "QueryId is required.");
    const query = await deps.catalog.document<QueryDocument>("queries", id, context.accountId);
    if (query === undefined) throw new ApiError("QueryIdNotFoundException", `The query ${id} was not found.`);
    const stores = await Promise.all(query.storeIds.map((storeId) => deps.catalog.store(storeId)));
    for (const store of stores) {
      if (store?.status === "PENDING_DELETION")
        throw new ApiError("InactiveEventDataStoreException", `Event data store ${store.arn} is pending deletion.`);
    }
    return query;
  };

  async function execute(
    query: QueryDocument,
    sql: string,
    ranges: ReadonlyMap<string, DateRange | undefined>,
    target: DeliveryTarget | undefined,
  ): Promise<void> {
    const started = deps.nowMs();
    const handle = running.get(query.id)!;
    let finished: QueryRows | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      handle.interrupt();
    }, QUERY_TIMEOUT_MS);
    await acquire();
    let snapshot: FileSnapshot | undefined;
    try {
      snapshot = await deps.snapshots?.take(query.storeIds);
      if (handle.cancelled) throw new Error("cancelled");
      const { connection, scan } = await connectForQuery(deps.duck, deps.lakeDir, query.storeIds, ranges, snapshot);
      Object.assign(query, {
        bytesScanned: scan.bytesScanned,
        eventsScanned: scan.eventsScanned,
        filesScanned: scan.files,
      });
      handle.interrupt = () => connection.interrupt();
      let result: QueryRows;
      try {
        if (handle.cancelled) throw new Error("cancelled");
        query.status = "RUNNING";
        await save(query);
        if (handle.cancelled) throw new Error("cancelled"); // cancelled while the status was saved
        result = await runQuery(connection, sql);
      } finally {
        connection.closeSync();
      }
      await mkdir(resultsDir, { recursive: true });
      await writeFile(join(resultsDir, `${query.id}.json`), JSON.stringify(result));
      Object.assign(query, { status: "FINISHED", resultsCount: result.rows.length });
      remember(query.id, result);
      finished = result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      query.status = handle.cancelled ? "CANCELLED" : timedOut ? "TIMED_OUT" : "FAILED";
      if (query.status === "FAILED") query.errorMessage = message.slice(0, 1000).padEnd(4, " ");
    } finally {
      snapshot?.release();
      release();
      clearTimeout(timer);
      running.delete(query.id);
      query.finishedMs = Math.max(deps.nowMs(), started);
      if (target !== undefined && finished === undefined)
        query.deliveryStatus = query.status === "CANCELLED" ? "CANCELLED" : "FAILED";
      await save(query);
    }
    // Results are readable with GetQueryResults at once; the files follow (DeliveryStatus PENDING → …).
    if (target !== undefined && finished !== undefined && deps.delivery !== undefined) {
      const outcome = await deliverResults(deps.delivery, {
        target,
        accountId: query.accountId,
        region: query.region ?? "us-east-1",
        queryId: query.id,
        completeMs: query.finishedMs ?? deps.nowMs(),
        result: finished,
      });
      if (outcome.message !== undefined)
        process.stderr.write(`lake: delivery of query ${query.id} results: ${outcome.status}: ${outcome.message}\n`);
      query.deliveryStatus = outcome.status;
      await save(query);
    }
  }

  const startQuery: OperationHandler = async (input, context) => {
    const statement = optionalString(input, "QueryStatement");
    if (statement === undefined || statement.trim() === "" || statement.length > 10_000)
      throw new ApiError("InvalidQueryStatementException", "QueryStatement must be a SELECT of 1 to 10000 characters.");
    const deliveryUri = optionalString(input, "DeliveryS3Uri");
    const target = deliveryUri === undefined ? undefined : parseDeliveryUri(deliveryUri);
    if (target !== undefined && deps.delivery === undefined)
      throw new ApiError("UnsupportedOperationException", "This server has no object store for DeliveryS3Uri.");
    const rewritten = rewriteLakeSql(statement);
    if (!["SELECT", "WITH", "("].includes(rewritten.firstKeyword))
      throw new ApiError(
        "InvalidQueryStatementException",
        `Only SELECT statements are supported; this statement starts with ${rewritten.firstKeyword || "nothing"}.`,
      );
    if (rewritten.storeIds.length === 0)
      throw new ApiError(
        "InvalidQueryStatementException",
        "The query must name an event data store (its id or ARN) in FROM.",
      );
    const stores: EventDataStore[] = [];
    for (const id of rewritten.storeIds)
      stores.push(requireActive(await deps.resolve({ EventDataStore: id }, context)));
    const mine = await deps.catalog.documents<QueryDocument>("queries", context.accountId);
    if (mine.filter((q) => q.status === "QUEUED" || q.status === "RUNNING").length >= MAX_CONCURRENT_QUERIES)
      throw new ApiError("MaxConcurrentQueriesException", `At most ${MAX_CONCURRENT_QUERIES} queries may run at once.`);
    const connection = await deps.duck.connect();
    let ranges: Map<string, DateRange | undefined>;
    try {
      const tree = await checkStatement(connection, rewritten.sql);
      ranges = partitionRanges(
        tree,
        stores.map((s) => viewNameOf(s.id)),
      );
    } catch (error) {
      if (error instanceof StatementError) throw new ApiError("InvalidQueryStatementException", error.message);
      throw error;
    } finally {
      connection.closeSync();
    }
    if (target !== undefined) await checkDeliveryBucket(deps.delivery!, target);
    const query: QueryDocument = {
      id: randomUUID(),
      accountId: context.accountId,
      statement,
      storeIds: stores.map((s) => s.id),
      status: "QUEUED",
      createdMs: context.nowMs,
      region: context.region,
      ...(deliveryUri !== undefined ? { deliveryS3Uri: deliveryUri, deliveryStatus: "PENDING" as const } : {}),
    };
    running.set(query.id, { interrupt: () => {}, cancelled: false });
    try {
      await save(query);
    } catch (error) {
      running.delete(query.id);
      throw error;
    }
    void execute(query, rewritten.sql, ranges, target);
    return { output: { QueryId: query.id } };
  };

  const describeQuery: OperationHandler = async (input, context) => {
    const q = await load(input, context);
    const elapsed = (q.finishedMs ?? deps.nowMs()) - q.createdMs;
    return {
      output: {
        QueryId: q.id,
        QueryString: q.statement,
        QueryStatus: q.status,
        QueryStatistics: {
          EventsMatched: q.resultsCount ?? 0,
          EventsScanned: q.eventsScanned ?? 0,
          BytesScanned: q.bytesScanned ?? 0,
          ExecutionTimeInMillis: Math.max(0, elapsed),
          CreationTime: q.createdMs / 1000,
        },
        ...(q.errorMessage !== undefined ? { ErrorMessage: q.errorMessage } : {}),
        ...(q.deliveryS3Uri !== undefined ? { DeliveryS3Uri: q.deliveryS3Uri } : {}),
        ...(q.deliveryStatus !== undefined ? { DeliveryStatus: q.deliveryStatus } : {}),
      },
    };
  };

  const getQueryResults: OperationHandler = async (input, context) => {
    const q = await load(input, context);
    const max = optionalInteger(input, "MaxQueryResults") ?? 1000;
    if (max < 1 || max > 1000)
      throw new ApiError("InvalidMaxResultsException", "MaxQueryResults must be between 1 and 1000.");
    const token = optionalString(input, "NextToken");
    const offset = token === undefined ? 0 : Number.parseInt(token.replace(/^rows-/, ""), 10);
    const error = q.errorMessage !== undefined ? { ErrorMessage: q.errorMessage } : {};
    if (q.status !== "FINISHED")
      return {
        output: {
          QueryStatus: q.status,
          QueryStatistics: { ResultsCount: 0, TotalResultsCount: 0, BytesScanned: 0 },
          ...error,
        },
      };
    const result = await resultsOf(q.id);
    if (!Number.isInteger(offset) || offset < 0 || offset > result.rows.length)
      throw new ApiError("InvalidNextTokenException", "The NextToken is invalid.");
    const page = result.rows.slice(offset, offset + max);
    const rows = page.map((row) => row.map((value, i) => ({ [result.columns[i]!]: value })));
    const next = offset + max < result.rows.length ? { NextToken: `rows-${offset + max}` } : {};
    return {
      output: {
        QueryStatus: q.status,
        QueryStatistics: {
          ResultsCount: page.length,
          TotalResultsCount: result.rows.length,
          BytesScanned: q.bytesScanned ?? 0,
        },
        QueryResultRows: rows,
        ...next,
      },
    };
  };

  const listQueries: OperationHandler = async (input, context) => {
    const store = requireActive(await deps.resolve(input, context));
    const status = optionalString(input, "QueryStatus");
    if (status !== undefined && !STATUSES.includes(status))
      throw new ApiError("InvalidQueryStatusException", `QueryStatus must be one of ${STATUSES.join(", ")}.`);
    const start = optionalTimestampMs(input, "StartTime") ?? 0;
    const end = optionalTimestampMs(input, "EndTime") ?? Number.MAX_SAFE_INTEGER;
    if (start > end) throw new ApiError("InvalidDateRangeException", "StartTime must be before EndTime.");
    const max = optionalInteger(input, "MaxResults") ?? 1000;
    if (max < 1 || max > 1000)
      throw new ApiError("InvalidMaxResultsException", "MaxResults must be between 1 and 1000.");
    const token = optionalString(input, "NextToken");
    const offset = token === undefined ? 0 : Number.parseInt(token.replace(/^queries-/, ""), 10);
    const all = (await deps.catalog.documents<QueryDocument>("queries", context.accountId))
      .filter((q) => q.storeIds.includes(store.id) && (status === undefined || q.status === status))
      .filter((q) => q.createdMs >= start && q.createdMs <= end)
      .sort((a, b) => b.createdMs - a.createdMs);
    if (!Number.isInteger(offset) || offset < 0 || offset > all.length)
      throw new ApiError("InvalidNextTokenException", "The NextToken is invalid.");
    const page = all.slice(offset, offset + max);
    return {
      output: {
        Queries: page.map((q) => ({ QueryId: q.id, QueryStatus: q.status, CreationTime: q.createdMs / 1000 })),
        ...(offset + max < all.length ? { NextToken: `queries-${offset + max}` } : {}),
      },
    };
  };

  const cancelQuery: OperationHandler = async (input, context) => {
    const q = await load(input, context);
    const handle = running.get(q.id);
    if (!(q.status === "QUEUED" || q.status === "RUNNING") || handle === undefined)
      throw new ApiError("InactiveQueryException", `The query ${q.id} is ${q.status} and cannot be cancelled.`);
    handle.cancelled = true;
    handle.interrupt();
    return {
      output: { QueryId: q.id, QueryStatus: "CANCELLED" },
      responseElements: { queryId: q.id, queryStatus: "CANCELLED" },
    };
  };

  return [
    ["StartQuery", startQuery],
    ["DescribeQuery", describeQuery],
    ["GetQueryResults", getQueryResults],
    ["ListQueries", listQueries],
    ["CancelQuery", cancelQuery],
  ];
}
