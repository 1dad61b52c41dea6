import type { JournalSlice } from "../../journal/index.js";
import type { PruneResult } from "./event-history.js";

/**
 * Messages between the server thread (journal owner, lookups) and the event-history index worker
 * (threaded-event-history.ts ↔ index-worker.ts). Requests carry an id, answered once.
 */
export interface IndexWorkerData {
  readonly path: string;
  readonly retentionDays: number;
  readonly cacheSizeKiB?: number;
  readonly batchEntriesMax?: number;
  /** Whether the server keeps a quarantine: without one a record the index refuses is retried forever. */
  readonly quarantine: boolean;
  /** The server clock's time at spawn; later times arrive with each located range. */
  readonly nowMs: number;
}

export type ToWorker =
  | { type: "located"; id: number; range: JournalSlice; nowMs: number }
  | { type: "appended"; id: number }
  | { type: "prune"; id: number; nowMs: number }
  | { type: "quarantined"; id: number; error?: string }
  | { type: "stop"; id: number };

export type FromWorker =
  | { type: "ready"; cursor: number }
  | { type: "openFailed"; message: string }
  | { type: "locate"; id: number; fromSeq: number; maxEntries: number }
  | { type: "wait"; id: number; afterSeq: number }
  | { type: "applied"; seq: number }
  | { type: "batchFailed"; message: string }
  /** A record the index refuses while it works: kept in the quarantine (durably) before the cursor passes it. */
  | { type: "quarantine"; id: number; seq: number; json: string; message: string }
  | { type: "pruned"; id: number; result: PruneResult }
  | { type: "pruneFailed"; id: number; message: string }
  | { type: "stopped"; id: number };
