import { Worker } from "node:worker_threads";
import type { Journal } from "../../journal/journal.js";
import { systemClock, type Clock } from "../../lib/clock.js";
import { AppliedSeq } from "../applied-seq.js";
import type { RecordQuarantine } from "../quarantine.js";
import type { EventHistory, LookupQuery, LookupResult, PruneResult } from "./event-history.js";
import type { FromWorker, IndexWorkerData, ToWorker } from "./index-worker-protocol.js";
import { PostingHints } from "./posting-hints.js";
import { openSqliteEventHistory, type SqliteEventHistory } from "./sqlite-event-history.js";

/** What the worker needs of the server's journal: slices to read, the head, append notifications. */
export type LocatableJournal = Pick<
  Journal,
  "readMany" | "headSeq" | "waitForAppend" | "slice" | "prepareSlice" | "observeAppends"
>;

export interface ThreadedEventHistoryOptions {
  readonly path: string;
  readonly journal: LocatableJournal;
  readonly clock?: Clock;
  readonly retentionDays?: number;
  readonly cacheSizeKiB?: number;
  readonly batchEntriesMax?: number;
  /** A worker that died or a batch that failed (the worker retries it with back-off). */
  readonly onError?: (error: Error) => void;
  /** Where the worker sets aside a record the index refuses while it works; without it, retried forever. */
  readonly quarantine?: RecordQuarantine;
}

/**
 * Entries whose postings the server thread keeps for the worker (~90 bytes each at ~9 postings):
 * several of the worker's largest batches, so a worker that keeps up never reads a block.
 */
const HINT_ENTRIES_MAX = 32_768;

/** A worker that died unexpectedly is started again after this long. */
const RESPAWN_DELAY_MS = 1_000;
/** How long close() lets the worker finish its batch before terminating it (the cursor keeps it correct). */
const STOP_TIMEOUT_MS = 30_000;

/**
 * Event history with its indexing consumer on a worker thread (docs/decisions/0006-event-history-worker.md).
 * The worker owns the writing SQLite connection and reads the journal's blocks with its own file
 * handles; this thread keeps a read-only connection for lookups and tracks the worker's cursor for
 * read-your-writes (`waitFor`). The consumer contract is the worker's runner's: the cursor is
 * committed with the postings, a failed batch is retried, a restart resumes from the cursor.
 */
export class ThreadedEventHistory implements EventHistory {
  private readonly applied: AppliedSeq;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly prunes = new Map<number, { resolve(result: PruneResult): void; reject(error: Error): void }>();
  private readonly abort = new AbortController();
  private closing = false;
  private respawnTimer: NodeJS.Timeout | undefined;
  /** Postings derived on this thread from what the journal's appends carried (decision 0020, third slice). */
  private readonly hints = new PostingHints(HINT_ENTRIES_MAX);
  private readonly stopObserving: (() => void) | undefined;
  private derivedCount = 0;

  private constructor(
    private readonly reader: SqliteEventHistory,
    private readonly options: ThreadedEventHistoryOptions,
    private readonly clock: Clock,
    cursor: number,
  ) {
    this.applied = new AppliedSeq(cursor);
    this.stopObserving = options.journal.observeAppends?.((group) => this.hints.add(group));
  }

  /** Opens the index (retention applied once, on this thread) and starts the worker; rejects if it cannot open. */
  static async start(options: ThreadedEventHistoryOptions): Promise<ThreadedEventHistory> {
    const clock = options.clock ?? systemClock;
    const reader = await openSqliteEventHistory({
      path: options.path,
      journal: options.journal,
      clock,
      ...(options.retentionDays !== undefined ? { retentionDays: options.retentionDays } : {}),
      ...(options.cacheSizeKiB !== undefined ? { cacheSizeKiB: options.cacheSizeKiB } : {}),
    });
    const history = new ThreadedEventHistory(reader, options, clock, await reader.loadCursor());
    try {
      await history.spawn();
    } catch (error) {
      history.stopObserving?.();
      await reader.close();
      throw error;
    }
    return history;
  }

  private spawn(): Promise<void> {
    const data: IndexWorkerData = {
      path: this.options.path,
      retentionDays: this.options.retentionDays ?? 90,
      quarantine: this.options.quarantine !== undefined,
      nowMs: this.clock.nowMs(),
      ...(this.options.cacheSizeKiB !== undefined ? { cacheSizeKiB: this.options.cacheSizeKiB } : {}),
      ...(this.options.batchEntriesMax !== undefined ? { batchEntriesMax: this.options.batchEntriesMax } : {}),
    };
    const worker = new Worker(new URL("./index-worker.js", import.meta.url), { workerData: data });
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      worker.on("message", (message: FromWorker) => {
        if (message.type === "ready") {
          started = true;
          this.applied.advance(message.cursor);
          resolve();
        } else if (message.type === "openFailed") {
          reject(new Error(`Event history index worker could not open: ${message.message}`));
        } else {
          this.onMessage(worker, message);
        }
      });
      worker.on("error", (error) => {
        if (!started) reject(error);
        else this.options.onError?.(error);
      });
      worker.on("exit", () => {
        if (this.worker === worker) this.worker = undefined;
        for (const prune of this.prunes.values()) prune.reject(new Error("The event history index worker stopped."));
        this.prunes.clear();
        if (!started) reject(new Error("The event history index worker exited before it was ready."));
        else if (!this.closing) this.respawnLater();
      });
    });
  }

  private respawnLater(): void {
    this.respawnTimer = setTimeout(() => {
      this.respawnTimer = undefined;
      if (this.closing) return;
      this.spawn().catch((error: unknown) => {
        this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
        this.respawnLater();
      });
    }, RESPAWN_DELAY_MS);
    this.respawnTimer.unref();
  }

  private onMessage(worker: Worker, message: FromWorker): void {
    const send = (answer: ToWorker): void => worker.postMessage(answer);
    switch (message.type) {
      case "locate":
        this.locate(worker, message);
        return;
      case "wait":
        void this.options.journal.waitForAppend(message.afterSeq, this.abort.signal).then(() => {
          if (this.worker === worker) send({ type: "appended", id: message.id });
        });
        return;
      case "applied":
        this.derivedCount += message.derived;
        this.applied.advance(message.seq);
        return;
      case "batchFailed":
        this.options.onError?.(new Error(`Event history indexing failed (retried): ${message.message}`));
        return;
      case "quarantine":
        this.quarantine(worker, message);
        return;
      case "pruned":
        this.prunes.get(message.id)?.resolve(message.result);
        this.prunes.delete(message.id);
        return;
      case "pruneFailed":
        this.prunes.get(message.id)?.reject(new Error(message.message));
        this.prunes.delete(message.id);
        return;
      default:
        return;
    }
  }

  /**
   * A journal whose slices come from memory (JetStream) loads the range first; the file journal
   * answers at once, as before. On a failed load the worker gets what there is and asks again.
   */
  private locate(worker: Worker, message: Extract<FromWorker, { type: "locate" }>): void {
    const journal = this.options.journal;
    if (message.derived && this.answerDerived(worker, message)) return;
    const answer = (): void => {
      if (this.worker !== worker) return;
      const range = journal.slice(message.fromSeq, message.maxEntries);
      worker.postMessage({ type: "located", id: message.id, range, nowMs: this.clock.nowMs() } satisfies ToWorker);
    };
    if (journal.prepareSlice === undefined) return answer();
    journal.prepareSlice(message.fromSeq, message.maxEntries).then(answer, (error: unknown) => {
      this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
      answer();
    });
  }

  /** Answers with the range's postings when this thread holds them all; false when the blocks must be read. */
  private answerDerived(worker: Worker, message: Extract<FromWorker, { type: "locate" }>): boolean {
    const journal = this.options.journal;
    const end = Math.min(journal.headSeq(), message.fromSeq + message.maxEntries - 1);
    const range = this.hints.range(message.fromSeq, end);
    if (range === undefined) return false;
    worker.postMessage({ type: "derived", id: message.id, range, nowMs: this.clock.nowMs() } satisfies ToWorker, [
      range.packed.buffer,
      range.offsets.buffer,
      range.appendedAtMs.buffer,
    ]);
    return true;
  }

  private quarantine(worker: Worker, message: Extract<FromWorker, { type: "quarantine" }>): void {
    const answer = (error?: string): void => {
      if (this.worker === worker)
        worker.postMessage({ type: "quarantined", id: message.id, ...(error ? { error } : {}) });
    };
    this.options.quarantine!.add({ seq: message.seq, json: message.json }, new Error(message.message)).then(
      () => {
        // Done with, as far as readers are concerned: LookupEvents need not wait for it.
        this.applied.advance(message.seq);
        answer();
      },
      (error: unknown) => answer(error instanceof Error ? error.message : String(error)),
    );
  }

  lookup(query: LookupQuery): Promise<LookupResult> {
    return this.reader.lookup(query);
  }

  /** Entries the worker indexed from postings derived on this thread rather than from the journal's blocks. */
  derivedEntries(): number {
    return this.derivedCount;
  }

  /** Highest seq the index has made durable. */
  cursor(): number {
    return this.applied.value();
  }

  /** Resolves once the index has applied `seq`, or after `timeoutMs`. */
  waitFor(seq: number, timeoutMs: number): Promise<void> {
    return this.applied.waitFor(seq, timeoutMs);
  }

  /** Retention, run by the worker (the only writer). */
  prune(): Promise<PruneResult> {
    const worker = this.worker;
    if (worker === undefined) return Promise.reject(new Error("The event history index worker is not running."));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.prunes.set(id, { resolve, reject });
      worker.postMessage({ type: "prune", id, nowMs: this.clock.nowMs() } satisfies ToWorker);
    });
  }

  /** Lets the worker finish its batch and close its connection, then closes the lookup connection. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.respawnTimer !== undefined) clearTimeout(this.respawnTimer);
    const worker = this.worker;
    if (worker !== undefined) {
      const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
      worker.postMessage({ type: "stop", id: this.nextId++ } satisfies ToWorker);
      // stop() waits for the batch in flight; a worker that does not exit by then is stopped hard.
      const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    this.stopObserving?.();
    this.hints.clear();
    this.abort.abort();
    await this.reader.close();
  }
}
