import type { JournalSlice } from "../../journal/index.js";
import type { PruneResult } from "./event-history.js";
import type { DerivedRange } from "./derived-postings.js";

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
  /** The range's postings, derived on the server thread (an answer to a locate that allowed it). */
  | { type: "derived"; id: number; range: DerivedRange; nowMs: number }
  | { type: "appended"; id: number }
  | { type: "prune"; id: number; nowMs: number }
  | { type: "quarantined"; id: number; error?: string }
  | { type: "stop"; id: number };

export type FromWorker =
  | { type: "ready"; cursor: number }
  | { type: "openFailed"; message: string }
  /** `derived`: the server may answer with the range's postings instead of where its blocks are. */
  | { type: "locate"; id: number; fromSeq: number; maxEntries: number; derived: boolean }
  | { type: "wait"; id: number; afterSeq: number }
  /** `derived`: how many of the batch's entries came as postings derived on the server thread. */
  | { type: "applied"; seq: number; derived: number }
  | { type: "batchFailed"; message: string }
  /** A record the index refuses while it works: kept in the quarantine (durably) before the cursor passes it. */
  | { type: "quarantine"; id: number; seq: number; json: string; message: string }
  | { type: "pruned"; id: number; result: PruneResult }
  | { type: "pruneFailed"; id: number; message: string }
  | { type: "stopped"; id: number };
