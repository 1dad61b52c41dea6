/**
 * StartQuery, DescribeQuery, GetQueryResults, ListQueries, CancelQuery (spec §7.2). A query runs in
 * the background on its own DuckDB connection over the date partitions its WHERE clause can match
 * (query-pruning.ts); its metadata and statistics live in the Lake catalog and its rows in
 * `<lake>/results/<query-id>.json`, both kept 7 days (lake-maintenance.ts). With `DeliveryS3Uri` the
 * rows are also written, signed, to the object store (query-delivery.ts).
 */
import { randomUUID } from "node:crypto";
import { ApiError } from "../../lib/api-error.js";
import { optionalInteger, optionalString, optionalTimestampMs } from "../input.js";
import type { OperationContext, OperationHandler } from "../operation.js";
import { requireActive } from "./eds-input.js";
import { checkDeliveryBucket, parseDeliveryUri } from "./query-delivery.js";
import { executeQuery } from "./query-execution.js";
import {
  createQueryRuntime,
  newRunningQuery,
  untilEndedOrWaited,
  type QueryDocument,
  type QueryOperationDeps,
  type QueryRuntime,
} from "./query-runtime.js";
import type { EventDataStore } from "../../lake/catalog/index.js";
import { checkStatement, StatementError } from "../../lake/engine/query-engine.js";
import { partitionRanges, type DateRange } from "../../lake/engine/query-pruning.js";
import { publicErrorMessage, rewriteLakeSql, viewNameOf, type RewrittenQuery } from "../../lake/engine/query-sql.js";

const MAX_CONCURRENT_QUERIES = 10;
const STATUSES = ["QUEUED", "RUNNING", "FINISHED", "FAILED", "CANCELLED", "TIMED_OUT"];

export async function createQueryOperations(deps: QueryOperationDeps): Promise<Array<[string, OperationHandler]>> {
  const queries = createQueryRuntime(deps);
  await failInterruptedDeliveries(queries);
  return [
    ["StartQuery", startQueryOperation(queries)],
    ["DescribeQuery", describeQueryOperation(queries)],
    ["GetQueryResults", getQueryResultsOperation(queries)],
    ["ListQueries", listQueriesOperation(queries)],
    ["CancelQuery", cancelQueryOperation(queries)],
  ];
}

/** A delivery cut short by a restart never completes: say so instead of PENDING forever. */
async function failInterruptedDeliveries(queries: QueryRuntime): Promise<void> {
  for (const q of await queries.deps.catalog.documents<QueryDocument>("queries"))
    if (q.deliveryStatus === "PENDING" && !(q.status === "QUEUED" || q.status === "RUNNING"))
      await queries.save({ ...q, deliveryStatus: "FAILED" });
}

function startQueryOperation(queries: QueryRuntime): OperationHandler {
  const { deps } = queries;
  return async (input, context) => {
    const statement = optionalString(input, "QueryStatement");
    const badLength = (): ApiError =>
      new ApiError("InvalidQueryStatementException", "QueryStatement must be a SELECT of 1 to 10000 characters.");
    if (statement === undefined || statement.trim() === "") throw badLength();
    const byIds = rewriteLakeSql(statement);
    // The caller's store list is read only for a statement that names a table, not for ids and ARNs.
    const rewritten = byIds.looksUpNames ? rewriteLakeSql(statement, await storeNamesOf(deps, context)) : byIds;
    if (rewritten.storeIds.length === 0) await context.authorize("cloudtrail:StartQuery", "*");
    const stores: EventDataStore[] = [];
    for (const id of rewritten.storeIds) {
      const store = await deps.resolve({ EventDataStore: id }, context);
      // Every store the statement reads, however named, and not only the first (the route's check).
      await context.authorize("cloudtrail:StartQuery", store.arn);
      stores.push(requireActive(store));
    }
    // After authorisation, as AWS checks IAM before the input.
    if (statement.length > 10_000) throw badLength();
    refuseNonSelect(rewritten);
    const deliveryUri = optionalString(input, "DeliveryS3Uri");
    const target = deliveryUri === undefined ? undefined : parseDeliveryUri(deliveryUri);
    if (target !== undefined && deps.delivery === undefined)
      throw new ApiError("UnsupportedOperationException", "This server has no object store for DeliveryS3Uri.");
    if ((await activeQueries(queries, context.accountId)) >= MAX_CONCURRENT_QUERIES)
      throw new ApiError("MaxConcurrentQueriesException", `At most ${MAX_CONCURRENT_QUERIES} queries may run at once.`);
    const ranges = await planPartitions(queries, rewritten, stores);
    if (target !== undefined) await checkDeliveryBucket(deps.delivery!, target, context.accountId);
    const query: QueryDocument = {
      id: randomUUID(),
      accountId: context.accountId,
      statement,
      storeIds: stores.map((s) => s.id),
      status: "QUEUED",
      createdMs: context.nowMs,
      region: context.region,
      ...(deps.cluster !== undefined ? { nodeId: deps.cluster.nodeId } : {}),
      ...(deliveryUri !== undefined ? { deliveryS3Uri: deliveryUri, deliveryStatus: "PENDING" as const } : {}),
    };
    await register(queries, query);
    void executeQuery(queries, query, { sql: rewritten.sql, labels: rewritten.labels, ranges, target });
    return { output: { QueryId: query.id } };
  };
}

/** The caller's stores in the caller's region by name (names are unique there), for FROM <name>. */
async function storeNamesOf(deps: QueryOperationDeps, context: OperationContext): Promise<Map<string, string>> {
  const stores = await deps.catalog.stores(context.accountId);
  return new Map(stores.filter((s) => s.region === context.region).map((s) => [s.name, s.id]));
}

/**
 * The account's QUEUED and RUNNING queries. One server runs every query it started, from StartQuery
 * to its end (start-up recovery fails those a stop cut short), so it counts them in memory rather
 * than reading every query document of the last 7 days on each StartQuery; a cluster node counts
 * the other nodes' queries too, from the catalog.
 */
async function activeQueries(queries: QueryRuntime, accountId: string): Promise<number> {
  if (queries.deps.cluster === undefined)
    return [...queries.running.values()].filter((handle) => handle.accountId === accountId).length;
  const documents = await queries.deps.catalog.documents<QueryDocument>("queries", accountId);
  return documents.filter((q) => q.status === "QUEUED" || q.status === "RUNNING").length;
}

/** Refuses a statement that is not a SELECT naming a store. */
function refuseNonSelect(rewritten: RewrittenQuery): void {
  if (!["SELECT", "WITH", "("].includes(rewritten.firstKeyword))
    throw new ApiError(
      "InvalidQueryStatementException",
      `Only SELECT statements are supported; this statement starts with ${rewritten.firstKeyword || "nothing"}.`,
    );
  if (rewritten.storeIds.length === 0)
    throw new ApiError(
      "InvalidQueryStatementException",
      "The query must name an event data store (its id, ARN or name) in FROM.",
    );
}

/** Checks the statement with DuckDB and works out, per store, the event dates it can match. */
async function planPartitions(
  queries: QueryRuntime,
  rewritten: RewrittenQuery,
  stores: readonly EventDataStore[],
): Promise<Map<string, DateRange | undefined>> {
  const connection = await queries.deps.duck.connect();
  try {
    const tree = await checkStatement(connection, rewritten.sql);
    return partitionRanges(
      tree,
      stores.map((s) => viewNameOf(s.id)),
    );
  } catch (error) {
    if (error instanceof StatementError)
      throw new ApiError("InvalidQueryStatementException", publicErrorMessage(error.message, rewritten.labels));
    throw error;
  } finally {
    connection.closeSync();
  }
}

/** Saves a new query as running in this process, so CancelQuery finds it as soon as it is listed. */
async function register(queries: QueryRuntime, query: QueryDocument): Promise<void> {
  queries.running.set(query.id, newRunningQuery(query.accountId));
  try {
    await queries.save(query);
  } catch (error) {
    queries.running.delete(query.id);
    throw error;
  }
}

/** The caller's query; one still active here is read again after it ends, or after END_WAIT_MS. */
async function loadAtItsEnd(
  queries: QueryRuntime,
  input: Record<string, unknown>,
  context: OperationContext,
): Promise<QueryDocument> {
  const q = await queries.load(input, context);
  if (q.status !== "QUEUED" && q.status !== "RUNNING") return q;
  return (await untilEndedOrWaited(queries, q.id)) ? queries.load(input, context) : q;
}

function describeQueryOperation(queries: QueryRuntime): OperationHandler {
  return async (input, context) => {
    const q = await loadAtItsEnd(queries, input, context);
    const elapsed = (q.finishedMs ?? queries.deps.nowMs()) - q.createdMs;
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
}

function getQueryResultsOperation(queries: QueryRuntime): OperationHandler {
  return async (input, context) => {
    const q = await loadAtItsEnd(queries, input, context);
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
    const result = await queries.results.read(q.id);
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
}

function listQueriesOperation(queries: QueryRuntime): OperationHandler {
  const { deps } = queries;
  return async (input, context) => {
    const store = requireActive(await deps.resolve(input, context));
    const status = optionalString(input, "QueryStatus");
    if (status !== undefined && !STATUSES.includes(status))
      throw new ApiError("InvalidQueryStatusException", `QueryStatus must be one of ${STATUSES.join(", ")}.`);
    const start = optionalTimestampMs(input, "StartTime", "InvalidDateRangeException") ?? 0;
    const end = optionalTimestampMs(input, "EndTime", "InvalidDateRangeException") ?? Number.MAX_SAFE_INTEGER;
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
}

function cancelQueryOperation(queries: QueryRuntime): OperationHandler {
  return async (input, context) => {
    const q = await queries.load(input, context);
    const handle = queries.running.get(q.id);
    const { cluster } = queries.deps;
    const active = q.status === "QUEUED" || q.status === "RUNNING";
    // Cluster mode: another node runs it; that node polls for the request (query-execution.ts).
    const elsewhere = cluster !== undefined && q.nodeId !== undefined && q.nodeId !== cluster.nodeId;
    if (!active || (handle === undefined && !elsewhere))
      throw new ApiError("InactiveQueryException", `The query ${q.id} is ${q.status} and cannot be cancelled.`);
    if (handle !== undefined) {
      handle.cancelled = true;
      handle.interrupt();
    } else await cluster!.requestCancel(q.id);
    return {
      output: { QueryId: q.id, QueryStatus: "CANCELLED" },
      responseElements: { queryId: q.id, queryStatus: "CANCELLED" },
    };
  };
}
