import type { Journal, JournalEntry } from "../../journal/journal.js";
import { systemClock, type Clock } from "../../lib/clock.js";
import type { PostgresDatabase } from "../../stores/postgres/index.js";
import { AppliedSeq } from "../applied-seq.js";
import type { Consumer } from "../consumer.js";
import { ConsumerRunner, type ConsumerJournal, type ConsumerRunnerOptions } from "../runner.js";
import type { EventHistory, LookupQuery, LookupResult, PruneResult } from "./event-history.js";
import { lookupPage, postingRowsOf, type EventHistoryCounters } from "./lookup-pages.js";
import { PostgresPostingStore } from "./postgres-posting-store.js";

export interface PostgresEventHistoryOptions {
  /** The cluster's database; the event history never closes it (its owner does). */
  readonly db: PostgresDatabase;
  /** Lookups read the page's records back from it. */
  readonly journal: Pick<Journal, "readMany">;
  readonly clock?: Clock;
  /** Postings older than this are not indexed and are deleted by prune(). Default 90 (spec §4.1). */
  readonly retentionDays?: number;
  /** Posting rows an AND lookup may examine per request before it returns what it has with a next token. Default 10,000. */
  readonly scanRowsMax?: number;
}

const SECONDS_PER_DAY = 86_400;
/**
 * How often waitFor() reads the cursor PostgreSQL holds while this node's own indexing (if any) has
 * not got there: in a cluster another node may be the one indexing.
 */
const CURSOR_POLL_MS = 50;

/**
 * Event history on PostgreSQL (docs/decisions/0013-event-history-postgres.md): day-partitioned
 * postings pointing into the journal, the applied cursor committed with them. Every node can look up
 * (a next token carries its position, nothing node-local); the node that follows the journal indexes.
 */
export class PostgresEventHistory implements EventHistory, Consumer {
  readonly name = "event-history";
  readonly counters: EventHistoryCounters = { indexed: 0, notEventHistory: 0, expired: 0, unparsable: 0 };
  private readonly applied: AppliedSeq;
  private runner: ConsumerRunner | undefined;
  /** The indexer lease's token while following under one (cluster mode); undefined when unfenced. */
  private fencingToken: number | undefined;
  private closed = false;

  private constructor(
    private readonly store: PostgresPostingStore,
    private readonly journal: Pick<Journal, "readMany">,
    private readonly clock: Clock,
    private readonly retentionDays: number,
    private readonly scanRowsMax: number,
    initialCursor: number,
  ) {
    this.applied = new AppliedSeq(initialCursor);
  }

  /** Migrates the schema and loads the applied cursor; indexes nothing until follow(). */
  static async open(options: PostgresEventHistoryOptions): Promise<PostgresEventHistory> {
    const store = await PostgresPostingStore.open(options.db);
    return new PostgresEventHistory(
      store,
      options.journal,
      options.clock ?? systemClock,
      options.retentionDays ?? 90,
      Math.max(1, options.scanRowsMax ?? 10_000),
      await store.cursor(),
    );
  }

  /**
   * Indexes `journal` until unfollow() or close(). In a cluster one node does this, the holder of the
   * indexer lease, which passes the lease's `fencingToken`: the cursor is claimed for it first, and
   * every batch is refused once a later holder claimed it (IndexerFencedOffError).
   */
  async follow(
    journal: ConsumerJournal,
    options: ConsumerRunnerOptions & { readonly fencingToken?: number } = {},
  ): Promise<void> {
    if (this.runner !== undefined) throw new Error("The event history already follows a journal.");
    const { fencingToken, ...runnerOptions } = options;
    this.fencingToken = fencingToken;
    const runner = new ConsumerRunner(journal, this, runnerOptions);
    this.runner = runner;
    try {
      await runner.start();
    } catch (error) {
      this.runner = undefined;
      throw error;
    }
  }

  /** Stops indexing (after the batch in flight); lookups and waitFor() go on, reading the shared cursor. */
  async unfollow(): Promise<void> {
    const runner = this.runner;
    this.runner = undefined;
    await runner?.stop();
  }

  /** Whether this node indexes now. */
  following(): boolean {
    return this.runner !== undefined;
  }

  /**
   * The cursor PostgreSQL holds now, whichever node moved it (cluster journal retention); rejects
   * when the database cannot answer, rather than answering from this node's view.
   */
  storedCursor(): Promise<number> {
    return this.store.cursor();
  }

  /** Advances cursor() to what PostgreSQL holds, on a node that does not index (another node moves it). */
  async refreshCursor(): Promise<void> {
    this.applied.advance(await this.store.cursor());
  }

  private cutoffTime(): number {
    return Math.floor(this.clock.nowMs() / 1000) - this.retentionDays * SECONDS_PER_DAY;
  }

  async loadCursor(): Promise<number> {
    const cursor =
      this.fencingToken === undefined ? await this.store.cursor() : await this.store.claim(this.fencingToken);
    this.applied.advance(cursor);
    return cursor;
  }

  async handle(batch: readonly JournalEntry[]): Promise<void> {
    const last = batch.at(-1);
    if (last === undefined) return;
    const rows = postingRowsOf(batch, this.cutoffTime(), this.counters);
    await this.store.apply(rows, last.seq, this.fencingToken);
    this.counters.indexed += rows.length;
    this.applied.advance(last.seq);
  }

  async probe(): Promise<void> {
    await this.store.probe();
  }

  /** Highest seq known applied durably: loaded on open, advanced by this node's batches and by waitFor()'s reads. */
  cursor(): number {
    return this.applied.value();
  }

  /** Resolves once the index (this node's or another's) reached `seq`, or after `timeoutMs`. Never rejects. */
  async waitFor(seq: number, timeoutMs: number): Promise<void> {
    // Wall time, not the clock: the bound protects the API from a lagging index, whatever the clock says.
    const deadline = performance.now() + timeoutMs;
    while (this.applied.value() < seq && !this.closed) {
      const left = deadline - performance.now();
      if (left <= 0) return;
      await this.applied.waitFor(seq, Math.min(left, CURSOR_POLL_MS));
      if (this.applied.value() >= seq || this.closed) return;
      this.applied.advance(await this.committedCursor(deadline - performance.now()));
    }
  }

  /**
   * The cursor PostgreSQL holds, or 0 when it does not answer within `timeoutMs`: an unreachable
   * database (connecting may take seconds) only means the wait ends at its bound.
   */
  private async committedCursor(timeoutMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<number>((resolve) => (timer = setTimeout(() => resolve(0), Math.max(0, timeoutMs))));
    try {
      return await Promise.race([this.store.cursor().catch(() => 0), bound]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Deletes postings older than the retention window: whole days dropped, the boundary day trimmed. */
  async prune(): Promise<PruneResult> {
    return this.store.prune(this.cutoffTime());
  }

  async lookup(query: LookupQuery): Promise<LookupResult> {
    return lookupPage(query, this.journal, this.scanRowsMax, (keys, startTime, before, limit, scanRowsMax) =>
      this.store.candidates(keys, startTime, before, limit, scanRowsMax),
    );
  }

  /** Total postings (a full scan; for tests and benchmarks). */
  countPostings(): Promise<number> {
    return this.store.countPostings();
  }

  /** Stops following the journal (after the batch in flight); the database stays open for its owner. */
  async close(): Promise<void> {
    this.closed = true;
    await this.unfollow();
  }
}

export interface StartPostgresEventHistoryOptions extends PostgresEventHistoryOptions {
  readonly journal: ConsumerJournal & Pick<Journal, "readMany">;
  readonly batchEntriesMax?: number;
}

/** Opens the index, applies retention once, and indexes `options.journal` on this node until close(). */
export async function startPostgresEventHistory(
  options: StartPostgresEventHistoryOptions,
): Promise<PostgresEventHistory> {
  const history = await PostgresEventHistory.open(options);
  try {
    await history.prune();
    await history.follow(options.journal, {
      ...(options.batchEntriesMax !== undefined ? { batchEntriesMax: options.batchEntriesMax } : {}),
    });
  } catch (error) {
    await history.close();
    throw error;
  }
  return history;
}
