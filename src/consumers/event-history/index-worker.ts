/**
 * The event-history index worker (docs/decisions/0006-event-history-worker.md): runs the SQLite
 * indexing consumer off the ingest thread, with its own SQLite connection and its own journal reader.
 * The server thread owns the journal; it answers where blocks are (`locate`) and when the head moves
 * (`wait`), and this thread reads, verifies and inflates the blocks itself.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { JournalEntry } from "../../journal/journal.js";
import type { JournalSlice } from "../../journal/index.js";
import { SliceReader } from "../../journal/index.js";
import type { Consumer } from "../consumer.js";
import type { RecordQuarantine } from "../quarantine.js";
import { ConsumerRunner, type ConsumerJournal } from "../runner.js";
import { DerivedEntry, derivedEntries } from "./derived-postings.js";
import type { FromWorker, IndexWorkerData, ToWorker } from "./index-worker-protocol.js";
import { openSqliteEventHistory, type SqliteEventHistory } from "./sqlite-event-history.js";

const port = parentPort!;
const data = workerData as IndexWorkerData;
const post = (message: FromWorker): void => port.postMessage(message);

let nowMs = data.nowMs;
let nextId = 1;
const pending = new Map<number, (message: ToWorker) => void>();

function request(message: FromWorker & { id: number }): Promise<ToWorker> {
  return new Promise((resolve) => {
    pending.set(message.id, resolve);
    post(message);
  });
}

/**
 * The server's journal as the runner sees it: locations over the port, bytes from our own file handles;
 * or, for a range the server thread derived the postings of (decision 0020, third slice), those.
 */
class WorkerJournal implements ConsumerJournal {
  private readonly reader = new SliceReader();
  private head = 0;
  /** False after a failed batch until one succeeds: the retry, and any quarantine, work on the real entries. */
  derivedAllowed = true;

  async read(fromSeq: number, maxEntries: number): Promise<JournalEntry[]> {
    const derived = this.derivedAllowed;
    const answer = await request({ type: "locate", id: nextId++, fromSeq, maxEntries, derived });
    if (answer.type === "derived") {
      nowMs = answer.nowMs;
      this.head = Math.max(this.head, answer.range.end);
      return derivedEntries(answer.range);
    }
    if (answer.type !== "located") throw new Error(`Unexpected answer ${answer.type} to locate.`);
    nowMs = answer.nowMs;
    const range: JournalSlice = answer.range;
    this.head = Math.max(this.head, range.end);
    return this.reader.read(range);
  }

  async waitForAppend(afterSeq: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return;
    const id = nextId++;
    await new Promise<void>((resolve) => {
      const abort = (): void => {
        pending.delete(id);
        resolve();
      };
      signal?.addEventListener("abort", abort, { once: true });
      pending.set(id, () => {
        signal?.removeEventListener("abort", abort);
        resolve();
      });
      post({ type: "wait", id, afterSeq });
    });
  }

  headSeq(): number {
    return this.head;
  }

  close(): void {
    this.reader.close();
  }
}

/** Reports each durable batch to the server thread, which wakes LookupEvents calls waiting for it. */
class ReportingConsumer implements Consumer {
  readonly name: string;
  constructor(
    private readonly inner: SqliteEventHistory,
    private readonly journal: WorkerJournal,
  ) {
    this.name = inner.name;
  }
  loadCursor(): Promise<number> {
    return this.inner.loadCursor();
  }
  async handle(batch: readonly JournalEntry[]): Promise<void> {
    try {
      await this.inner.handle(batch);
    } catch (error) {
      this.journal.derivedAllowed = false;
      throw error;
    }
    this.journal.derivedAllowed = true;
    const last = batch.at(-1);
    let derived = 0;
    for (const entry of batch) if (entry instanceof DerivedEntry) derived++;
    if (last !== undefined) post({ type: "applied", seq: last.seq, derived });
  }
  probe(): Promise<void> {
    return this.inner.probe();
  }
}

/** The server thread keeps the quarantine; a record is set aside once it answers that it is durable. */
const quarantineOverPort: RecordQuarantine = {
  async add(entry, error) {
    const message = error instanceof Error ? error.message : String(error);
    const answer = await request({ type: "quarantine", id: nextId++, seq: entry.seq, json: entry.json, message });
    if (answer.type === "quarantined" && answer.error !== undefined) throw new Error(answer.error);
  },
};

/**
 * Entries per batch when that many are waiting (the worker fell behind). Postings have random keys,
 * so each commit rewrites a share of the day table's pages in the WAL (and the checkpoint copies them
 * again) whatever the batch's size: a larger batch pays it for more events (1,000 → 4,000 bench
 * records: 11.6 → 8.8 µs of SQLite per event; decision 0020). A worker that keeps up reads what one
 * group commit appended, as before.
 */
const BATCH_ENTRIES_MAX = 4_000;

let history: SqliteEventHistory | undefined;
let runner: ConsumerRunner | undefined;
const journal = new WorkerJournal();

/** Registered before the runner starts, so the answer to its first `locate` finds it. */
port.on("message", (message: ToWorker) => {
  switch (message.type) {
    case "located":
    case "derived":
    case "appended":
    case "quarantined": {
      const resolve = pending.get(message.id);
      pending.delete(message.id);
      resolve?.(message);
      return;
    }
    case "prune":
      nowMs = Math.max(nowMs, message.nowMs);
      history!.prune().then(
        (result) => post({ type: "pruned", id: message.id, result }),
        (error: unknown) =>
          post({
            type: "pruneFailed",
            id: message.id,
            message: error instanceof Error ? error.message : String(error),
          }),
      );
      return;
    case "stop":
      void (async () => {
        await runner?.stop();
        await history?.close();
        journal.close();
        post({ type: "stopped", id: message.id });
        port.close();
      })();
      return;
  }
});

try {
  history = await openSqliteEventHistory({
    path: data.path,
    journal: { readMany: () => Promise.reject(new Error("The index worker does not serve lookups.")) },
    clock: { nowMs: () => nowMs },
    retentionDays: data.retentionDays,
    ...(data.cacheSizeKiB !== undefined ? { cacheSizeKiB: data.cacheSizeKiB } : {}),
  });
  runner = new ConsumerRunner(journal, new ReportingConsumer(history, journal), {
    // LookupEvents waits for the index to reach the head: no coalescing delay (runner.ts).
    coalesceMs: 0,
    batchEntriesMax: data.batchEntriesMax ?? BATCH_ENTRIES_MAX,
    ...(data.quarantine ? { quarantine: quarantineOverPort } : {}),
    onFailure: (error) =>
      post({ type: "batchFailed", message: error instanceof Error ? error.message : String(error) }),
  });
  await runner.start();
  post({ type: "ready", cursor: runner.cursorSeq() });
} catch (error) {
  await history?.close().catch(() => undefined);
  post({ type: "openFailed", message: error instanceof Error ? error.message : String(error) });
  port.close();
}
