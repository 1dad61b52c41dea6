/**
 * The background part of StartQuery: wait for a running slot, run the statement on its own DuckDB
 * connection over the store files of a snapshot, save the rows, record the outcome in the query
 * document, then deliver the rows when the query asked for DeliveryS3Uri.
 */
import { deliverResults, type DeliveryTarget } from "./query-delivery.js";
import type { QueryDocument, QueryRuntime, RunningQuery } from "./query-runtime.js";
import type { FileSnapshot } from "../../lake/compaction/compaction.js";
import { runQuery, type QueryRows } from "../../lake/engine/query-engine.js";
import type { DateRange } from "../../lake/engine/query-pruning.js";
import { publicErrorMessage } from "../../lake/engine/query-sql.js";

const QUERY_TIMEOUT_MS = 3_600_000;
/** Cluster mode: how often a running query looks for a CancelQuery that reached another node. */
const CANCEL_POLL_MS = 1_000;

/** What StartQuery checked and planned; the query itself is already saved as QUEUED. */
export interface QueryPlan {
  /** The statement rewritten for the Lake views. */
  readonly sql: string;
  /** Per view, how the statement named the store: the failure message names it so. */
  readonly labels: ReadonlyMap<string, string>;
  /** Per store view, the event dates the statement can match (undefined: all). */
  readonly ranges: ReadonlyMap<string, DateRange | undefined>;
  readonly target: DeliveryTarget | undefined;
}

/** Runs a query that StartQuery registered in `runtime.running` to its end (StartQuery does not wait for it). */
export async function executeQuery(runtime: QueryRuntime, query: QueryDocument, plan: QueryPlan): Promise<void> {
  const { deps } = runtime;
  const started = deps.nowMs();
  const handle = runtime.running.get(query.id)!;
  let finished: QueryRows | undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    handle.interrupt();
  }, QUERY_TIMEOUT_MS);
  const stopWatching = watchRemoteCancel(runtime, query.id, handle);
  await runtime.acquireSlot();
  let snapshot: FileSnapshot | undefined;
  try {
    snapshot = await deps.snapshots?.take(query.storeIds);
    const result = await runOnSnapshot(runtime, query, plan, snapshot, handle);
    await runtime.results.save(query.id, result);
    Object.assign(query, { status: "FINISHED", resultsCount: result.rows.length });
    finished = result;
  } catch (error) {
    const message = publicErrorMessage(error instanceof Error ? error.message : String(error), plan.labels);
    query.status = handle.cancelled ? "CANCELLED" : timedOut ? "TIMED_OUT" : "FAILED";
    if (query.status === "FAILED") {
      query.errorMessage = message.slice(0, 1000).padEnd(4, " ");
      // A statement the engine refused read nothing: no scan statistics for it.
      Object.assign(query, { bytesScanned: 0, eventsScanned: 0, filesScanned: 0 });
    }
  } finally {
    snapshot?.release();
    runtime.releaseSlot();
    clearTimeout(timer);
    stopWatching();
    runtime.running.delete(query.id);
    query.finishedMs = Math.max(deps.nowMs(), started);
    if (plan.target !== undefined && finished === undefined)
      query.deliveryStatus = query.status === "CANCELLED" ? "CANCELLED" : "FAILED";
    try {
      await runtime.save(query);
    } finally {
      handle.markEnded();
    }
  }
  // Results are readable with GetQueryResults at once; the files follow (DeliveryStatus PENDING → …).
  if (plan.target !== undefined && finished !== undefined) await deliver(runtime, query, plan.target, finished);
}

/** Cluster mode: polls for a CancelQuery another node recorded, and cancels as CancelQuery does here. */
function watchRemoteCancel(runtime: QueryRuntime, queryId: string, handle: RunningQuery): () => void {
  const cluster = runtime.deps.cluster;
  if (cluster === undefined) return () => undefined;
  let checking = false;
  const timer = setInterval(() => {
    if (checking || handle.cancelled) return;
    checking = true;
    cluster
      .cancelRequested(queryId)
      .then((requested) => {
        if (!requested || handle.cancelled) return;
        handle.cancelled = true;
        handle.interrupt();
      })
      .catch(() => undefined) // asked again on the next tick
      .finally(() => (checking = false));
  }, CANCEL_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Marks the query RUNNING and runs it; throws once it is cancelled, whichever step it had reached. */
async function runOnSnapshot(
  runtime: QueryRuntime,
  query: QueryDocument,
  plan: QueryPlan,
  snapshot: FileSnapshot | undefined,
  handle: RunningQuery,
): Promise<QueryRows> {
  const { deps } = runtime;
  if (handle.cancelled) throw new Error("cancelled");
  const { connection, scan, release } = await deps.warmViews.take(query.storeIds, plan.ranges, snapshot);
  Object.assign(query, {
    bytesScanned: scan.bytesScanned,
    eventsScanned: scan.eventsScanned,
    filesScanned: scan.files,
  });
  handle.interrupt = () => connection.interrupt();
  // Kept for the next query over the same files only when this one ran to its end.
  let reusable = false;
  try {
    if (handle.cancelled) throw new Error("cancelled");
    query.status = "RUNNING";
    // DuckDB starts on its own threads before the RUNNING status is saved, so the catalog commit (an
    // fsync) overlaps the query instead of preceding it (decision 0028); the FINISHED save still
    // follows it. A CancelQuery meanwhile interrupts the connection, which rejects `rows`.
    const rows = runQuery(connection, plan.sql);
    rows.catch(() => undefined);
    try {
      await runtime.save(query);
    } catch (error) {
      connection.interrupt();
      await rows.catch(() => undefined);
      throw error;
    }
    const result = await rows;
    reusable = true;
    return result;
  } finally {
    handle.interrupt = () => undefined; // a late CancelQuery must not reach a kept connection
    release(reusable);
  }
}

async function deliver(
  runtime: QueryRuntime,
  query: QueryDocument,
  target: DeliveryTarget,
  result: QueryRows,
): Promise<void> {
  const { deps } = runtime;
  if (deps.delivery === undefined) return;
  const outcome = await deliverResults(deps.delivery, {
    target,
    accountId: query.accountId,
    region: query.region ?? "us-east-1",
    queryId: query.id,
    completeMs: query.finishedMs ?? deps.nowMs(),
    result,
  });
  if (outcome.message !== undefined)
    process.stderr.write(`lake: delivery of query ${query.id} results: ${outcome.status}: ${outcome.message}\n`);
  query.deliveryStatus = outcome.status;
  await runtime.save(query);
}
