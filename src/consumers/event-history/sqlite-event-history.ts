import type { Journal, JournalEntry } from "../../journal/journal.js";
import { systemClock, type Clock } from "../../lib/clock.js";
import { AppliedSeq } from "../applied-seq.js";
import type { Consumer } from "../consumer.js";
import { ConsumerRunner, type ConsumerJournal, type ConsumerRunnerOptions } from "../runner.js";
import type { EventHistory, LookupQuery, LookupResult, PruneResult } from "./event-history.js";
import { journalRecords, lookupPage, postingRowsOf, type EventHistoryCounters } from "./lookup-pages.js";
import { PostingStore } from "./posting-store.js";
import type { PostingLayout } from "./posting-key.js";

export interface SqliteEventHistoryOptions {
  /** SQLite database file; its directory is created when missing. */
  readonly path: string;
  /** Lookups read the page's records back from it. */
  readonly journal: Pick<Journal, "readMany">;
  readonly clock?: Clock;
  /** Postings older than this are not indexed and are deleted by prune(). Default 90 (spec §4.1). */
  readonly retentionDays?: number;
  /** SQLite page cache per connection. Default 64 MiB. */
  readonly cacheSizeKiB?: number;
  /**
   * Posting rows an AND lookup may examine per request before it returns what it has (possibly
   * nothing) with a next token. Default 10,000 (≈ 13 ms at 10M events).
   */
  readonly scanRowsMax?: number;
}

const SECONDS_PER_DAY = 86_400;

/**
 * Event history backed by SQLite postings that point into the journal (docs/decisions/0003-event-history-index.md).
 * A consumer: whoever runs it (follow() on this thread, the index worker on its own) feeds it batches.
 */
export class SqliteEventHistory implements EventHistory, Consumer {
  readonly name = "event-history";
  readonly counters: EventHistoryCounters = { indexed: 0, notEventHistory: 0, expired: 0, unparsable: 0 };
  private readonly applied: AppliedSeq;
  private runner: ConsumerRunner | undefined;

  constructor(
    private readonly store: PostingStore,
    private readonly journal: Pick<Journal, "readMany">,
    private readonly clock: Clock,
    private readonly retentionDays: number,
    private readonly scanRowsMax: number,
  ) {
    this.applied = new AppliedSeq(store.cursor());
  }

  /** The index's posting layout (decision 0027): what keys its postings are derived in. */
  get layout(): PostingLayout {
    return this.store.layout;
  }

  /**
   * Indexes `journal` on this thread until close(): the single-thread deployment. (The server runs
   * this consumer on a worker thread instead: ThreadedEventHistory.)
   */
  async follow(journal: ConsumerJournal, options: ConsumerRunnerOptions = {}): Promise<void> {
    if (this.runner !== undefined) throw new Error("The event history already follows a journal.");
    // LookupEvents waits for the index to reach the head: no coalescing delay (runner.ts).
    this.runner = new ConsumerRunner(journal, this, { coalesceMs: 0, ...options });
    await this.runner.start();
  }

  private cutoffTime(): number {
    return Math.floor(this.clock.nowMs() / 1000) - this.retentionDays * SECONDS_PER_DAY;
  }

  async loadCursor(): Promise<number> {
    return this.store.cursor();
  }

  async handle(batch: readonly JournalEntry[]): Promise<void> {
    const last = batch.at(-1);
    if (last === undefined) return;
    const rows = postingRowsOf(batch, this.cutoffTime(), this.counters, this.store.layout);
    this.store.apply(rows, last.seq);
    this.counters.indexed += rows.length;
    this.applied.advance(last.seq);
  }

  /** A write transaction that changes nothing (the cursor rewritten as it is): the index file takes writes now. */
  async probe(): Promise<void> {
    this.store.apply([], this.store.cursor());
  }

  /** Highest seq applied durably: loaded on open, then advanced by each batch this instance handled. */
  cursor(): number {
    return this.applied.value();
  }

  /** Resolves once a batch handled by this instance reached `seq`, or after `timeoutMs`. */
  waitFor(seq: number, timeoutMs: number): Promise<void> {
    return this.applied.waitFor(seq, timeoutMs);
  }

  /** Deletes postings older than the retention window. The server calls it on open and every hour. */
  async prune(): Promise<PruneResult> {
    return this.store.prune(this.cutoffTime());
  }

  async lookup(query: LookupQuery): Promise<LookupResult> {
    return lookupPage(
      query,
      journalRecords(this.journal),
      this.scanRowsMax,
      (keys, startTime, before, limit, scanRowsMax, allEvents) =>
        this.store.candidates(keys, startTime, before, limit, scanRowsMax, allEvents),
      this.store.layout,
    );
  }

  /** Total postings (a full scan; for tests and benchmarks). */
  countPostings(): number {
    return this.store.countPostings();
  }

  /** Size of the index database file in bytes, after a WAL checkpoint. */
  sizeBytes(): number {
    return this.store.sizeBytes();
  }

  /** Stops following the journal (after the batch in flight), then closes the database. */
  async close(): Promise<void> {
    await this.runner?.stop();
    this.store.close();
  }
}

/** Opens (creating when missing) the index at `options.path` and applies retention once. */
export async function openSqliteEventHistory(options: SqliteEventHistoryOptions): Promise<SqliteEventHistory> {
  const store = new PostingStore(options.path, options.cacheSizeKiB);
  const history = new SqliteEventHistory(
    store,
    options.journal,
    options.clock ?? systemClock,
    options.retentionDays ?? 90,
    Math.max(1, options.scanRowsMax ?? 10_000),
  );
  await history.prune();
  return history;
}

export interface StartSqliteEventHistoryOptions extends SqliteEventHistoryOptions {
  readonly journal: ConsumerJournal & Pick<Journal, "readMany">;
  readonly batchEntriesMax?: number;
}

/** Opens the index and indexes `options.journal` on this thread (follow()) until close(). */
export async function startSqliteEventHistory(options: StartSqliteEventHistoryOptions): Promise<SqliteEventHistory> {
  const history = await openSqliteEventHistory(options);
  try {
    await history.follow(options.journal, {
      ...(options.batchEntriesMax !== undefined ? { batchEntriesMax: options.batchEntriesMax } : {}),
    });
  } catch (error) {
    await history.close();
    throw error;
  }
  return history;
}
