/**
 * What the query operations of one server share (query-operations.ts): the queries running in this
 * process, the slots that bound how many run at once, the saved results with a cache of the latest,
 * and the query documents in the Lake catalog.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { DuckDBInstance } from "@duckdb/node-api";
import { ApiError } from "../../lib/api-error.js";
import { writeFileAtomic } from "../../lib/durable-write.js";
import { optionalString } from "../input.js";
import type { OperationContext } from "../operation.js";
import type { LakeOperationDeps } from "./eds-input.js";
import type { DeliveryDeps, DeliveryStatus } from "./query-delivery.js";
import type { FileSnapshots } from "../../lake/compaction/compaction.js";
import type { QueryRows } from "../../lake/engine/query-engine.js";
import type { WarmViews } from "../../lake/engine/warm-views.js";

/**
 * Queries DuckDB executes at once; the rest wait as QUEUED. DuckDB parallelises each query on its
 * own threads, but every call also holds a libuv pool thread (4 by default), which Parquet writes and
 * file I/O need too: more running queries would starve ingestion.
 */
const RUNNING_SLOTS = 2;
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
  /** Cluster mode: the node running the query (its start-up recovery fails only its own). */
  readonly nodeId?: string;
}

/**
 * Cluster mode (decision 0015): results go to the lake bucket so any node answers GetQueryResults,
 * and a CancelQuery reaching another node than the one running the query is recorded for the
 * running node, which polls for it.
 */
export interface QueryCluster {
  readonly nodeId: string;
  readonly results: {
    put(queryId: string, body: Buffer): Promise<void>;
    get(queryId: string): Promise<Buffer | undefined>;
  };
  requestCancel(queryId: string): Promise<void>;
  cancelRequested(queryId: string): Promise<boolean>;
}

export type QueryOperationDeps = LakeOperationDeps & {
  duck: DuckDBInstance;
  lakeDir: string;
  nowMs: () => number;
  /** Where DeliveryS3Uri results go; without it StartQuery refuses DeliveryS3Uri. */
  delivery?: DeliveryDeps;
  /** Committed-file snapshots (compaction keeps a query's files until it ends); else the directories. */
  snapshots?: FileSnapshots;
  /** Query connections kept with their views, for the next query over the same files. */
  warmViews: WarmViews;
  cluster?: QueryCluster;
};

/** A query of this process between StartQuery and its end; CancelQuery marks and interrupts it. */
export interface RunningQuery {
  /** The account that started it (MaxConcurrentQueries counts an account's queries). */
  readonly accountId: string;
  interrupt: () => void;
  cancelled: boolean;
  /** Resolves once the query's final document is saved (FINISHED, FAILED, CANCELLED or TIMED_OUT). */
  readonly ended: Promise<void>;
  readonly markEnded: () => void;
}

export function newRunningQuery(accountId: string): RunningQuery {
  let markEnded = (): void => undefined;
  const ended = new Promise<void>((resolve) => (markEnded = resolve));
  return { accountId, interrupt: () => undefined, cancelled: false, ended, markEnded };
}

/**
 * How long DescribeQuery and GetQueryResults hold the answer for a query of this process that is
 * still QUEUED or RUNNING, to answer with its end instead (issue #15): a client polling for a 100 ms
 * query then needs one call, not a poll every few ms each journaled with its fsync. Well under any
 * SDK's timeout; a client sees only a slower RUNNING answer.
 */
const END_WAIT_MS = 1_000;

/** Waits, at most END_WAIT_MS, for a query of this process to end; at once for any other. */
export async function untilEndedOrWaited(runtime: QueryRuntime, queryId: string): Promise<boolean> {
  const handle = runtime.running.get(queryId);
  if (handle === undefined) return false;
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, END_WAIT_MS)));
  await Promise.race([handle.ended, waited]);
  clearTimeout(timer);
  return true;
}

/** Results on disk (`<lake>/results/<query-id>.json`), the latest few also in memory. */
export interface QueryResults {
  /** Writes a finished query's rows, atomically: a crash leaves the whole file or none. */
  save(id: string, result: QueryRows): Promise<void>;
  read(id: string): Promise<QueryRows>;
}

export interface QueryRuntime {
  readonly deps: QueryOperationDeps;
  /** By query id. */
  readonly running: Map<string, RunningQuery>;
  /** Resolves once one of the RUNNING_SLOTS is the caller's. */
  readonly acquireSlot: () => Promise<void>;
  readonly releaseSlot: () => void;
  readonly results: QueryResults;
  readonly save: (query: QueryDocument) => Promise<void>;
  /** The caller's query named by `QueryId`; rejects when it or one of its stores is gone. */
  readonly load: (input: Record<string, unknown>, context: OperationContext) => Promise<QueryDocument>;
}

export function createQueryRuntime(deps: QueryOperationDeps): QueryRuntime {
  return {
    deps,
    running: new Map(),
    ...createRunningSlots(RUNNING_SLOTS),
    results: createQueryResults(deps.lakeDir, deps.cluster?.results),
    save: (query) => deps.catalog.putDocument("queries", query),
    load: (input, context) => loadQuery(deps, input, context),
  };
}

function createRunningSlots(slots: number): Pick<QueryRuntime, "acquireSlot" | "releaseSlot"> {
  const waiting: Array<() => void> = [];
  let busySlots = 0;
  return {
    acquireSlot: async () => {
      if (busySlots < slots) {
        busySlots++;
        return;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    },
    releaseSlot: () => {
      const next = waiting.shift();
      if (next) next();
      else busySlots--;
    },
  };
}

/** Results in `<lake>/results/`, and in cluster mode first in the lake bucket (the local file is then a cache). */
function createQueryResults(lakeDir: string, shared?: QueryCluster["results"]): QueryResults {
  const resultsDir = join(lakeDir, "results");
  // Start-up recovery empties lake/tmp, so a crash mid-write leaves nothing behind in results/.
  const temporaryDirectory = join(lakeDir, "tmp");
  const cached = new Map<string, QueryRows>();
  const remember = (id: string, result: QueryRows): void => {
    if (result.rows.length * Math.max(1, result.columns.length) > CACHED_CELLS_MAX) return;
    cached.delete(id);
    cached.set(id, result);
    while (cached.size > CACHED_RESULTS) cached.delete(cached.keys().next().value!);
  };
  const writeLocal = (id: string, text: string): Promise<void> =>
    writeFileAtomic(join(resultsDir, `${id}.json`), text, { temporaryDirectory, createDirectories: true });
  /** The local copy, else (cluster mode: another node ran the query) the bucket's, kept locally. */
  const readText = async (id: string): Promise<string> => {
    const local = await readFile(join(resultsDir, `${id}.json`), "utf8").catch((error: unknown) => {
      if (shared === undefined) throw error;
      return undefined;
    });
    if (local !== undefined) return local;
    const body = await shared!.get(id);
    if (body === undefined) throw new ApiError("QueryIdNotFoundException", `The results of query ${id} have expired.`);
    const text = body.toString("utf8");
    await writeLocal(id, text);
    return text;
  };
  return {
    async save(id, result) {
      const text = JSON.stringify(result);
      await shared?.put(id, Buffer.from(text));
      await writeLocal(id, text);
      remember(id, result);
    },
    async read(id) {
      const hit = cached.get(id);
      if (hit !== undefined) return hit;
      const result = JSON.parse(await readText(id)) as QueryRows;
      remember(id, result);
      return result;
    },
  };
}

async function loadQuery(
  deps: QueryOperationDeps,
  input: Record<string, unknown>,
  context: OperationContext,
): Promise<QueryDocument> {
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
}
