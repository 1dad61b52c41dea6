import type { Journal, JournalEntry } from "../../journal/journal.js";
import { systemClock, type Clock } from "../../lib/clock.js";
import type { PostgresDatabase, Subscription } from "../../stores/postgres/index.js";
import { AppliedSeq } from "../applied-seq.js";
import type { Consumer } from "../consumer.js";
import { ConsumerRunner, type ConsumerJournal, type ConsumerRunnerOptions } from "../runner.js";
import type { EventHistory, LookupQuery, LookupResult, PruneResult } from "./event-history.js";
import {
  journalRecords,
  lookupPage,
  postingRowsOf,
  type EventHistoryCounters,
  type CandidateSource,
  type PostingRow,
} from "./lookup-pages.js";
import type { TokenPosition } from "./next-token.js";
import { termKey } from "./posting-key.js";
import { PostgresPostingStore, type StoredRecord } from "./postgres-posting-store.js";
import { decodeRecordBody, encodeRecordBodies } from "./record-body.js";

export interface PostgresEventHistoryOptions {
  /** The cluster's database; the event history never closes it (its owner does). */
  readonly db: PostgresDatabase;
  /**
   * Lookups read a record from it only when PostgreSQL has none: postings written before the index
   * kept records (schema version 3) point into the journal.
   */
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
 * not got there: in a cluster another node may be the one indexing. The indexer's NOTIFY usually
 * wakes the wait first; the poll covers a notification lost with the listening connection.
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
  private cursorWatch: Subscription | undefined;

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

  /**
   * Migrates the schema, loads the applied cursor and listens for the indexing node's batches (so a
   * lookup waiting for read-your-writes wakes at their commit); indexes nothing until follow().
   */
  static async open(options: PostgresEventHistoryOptions): Promise<PostgresEventHistory> {
    const store = await PostgresPostingStore.open(options.db);
    const history = new PostgresEventHistory(
      store,
      options.journal,
      options.clock ?? systemClock,
      options.retentionDays ?? 90,
      Math.max(1, options.scanRowsMax ?? 10_000),
      await store.cursor(),
    );
    history.cursorWatch = await store.watchCursor((seq) => {
      if (seq !== undefined) history.applied.advance(seq);
      else history.refreshCursor().catch(() => undefined);
    });
    return history;
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
    // LookupEvents waits for the index to reach the head: no coalescing delay (runner.ts).
    const runner = new ConsumerRunner(journal, this, { coalesceMs: 0, ...runnerOptions });
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
    const rows = postingRowsOf(batch, this.cutoffTime(), this.counters, "wide", { withScope: true });
    await this.store.apply(rows, await recordsOf(batch, rows), last.seq, this.fencingToken);
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
    const readOnlyFalseKey = writeFilterKey(query);
    // Records a single-key scan brought along with its positions (the page's, read next).
    let scanned: ReadonlyMap<number, Buffer> = new Map();
    const candidates: CandidateSource = async (keys, startTime, before, limit, scanRowsMax) => {
      const scan = await this.store.candidates(keys, startTime, before, limit, scanRowsMax, readOnlyFalseKey);
      scanned = scan.records;
      return scan;
    };
    return lookupPage(query, (positions) => this.readRecords(positions, scanned), this.scanRowsMax, candidates);
  }

  /**
   * A page's records: those its scan brought, the rest from PostgreSQL, and from the journal only for
   * postings older than the records table.
   */
  private async readRecords(
    positions: readonly TokenPosition[],
    scanned: ReadonlyMap<number, Buffer>,
  ): Promise<Map<number, string>> {
    const jsons = new Map<number, string>();
    for (const position of positions) {
      const body = scanned.get(position.seq);
      if (body !== undefined) jsons.set(position.seq, decodeRecordBody(body));
    }
    const unread = positions.filter((position) => !jsons.has(position.seq));
    if (unread.length === 0) return jsons;
    const stored = await this.store.records(unread);
    for (const [seq, body] of stored) jsons.set(seq, decodeRecordBody(body));
    const missing = unread.filter((position) => !stored.has(position.seq));
    if (missing.length > 0) for (const [seq, json] of await journalRecords(this.journal)(missing)) jsons.set(seq, json);
    return jsons;
  }

  /** Total postings (a full scan; for tests and benchmarks). */
  countPostings(): Promise<number> {
    return this.store.countPostings();
  }

  /** Stops following the journal (after the batch in flight); the database stays open for its owner. */
  async close(): Promise<void> {
    this.closed = true;
    await this.unfollow();
    await this.cursorWatch?.close();
  }
}

/** The ReadOnly=false key of a management query that filters on it, which the store may answer from its write table. */
function writeFilterKey(query: LookupQuery): number | undefined {
  const category = query.eventCategory ?? "management";
  if (category !== "management" || !query.attributes.some((a) => a.key === "ReadOnly" && a.value === "false"))
    return undefined;
  return termKey({ category, accountId: query.accountId, region: query.region }, "ReadOnly", "false");
}

/** The records of the batch's indexed events (those with postings), compressed, at their positions. */
async function recordsOf(batch: readonly JournalEntry[], rows: readonly PostingRow[]): Promise<StoredRecord[]> {
  if (rows.length === 0) return [];
  const jsonOf = new Map(batch.map((entry) => [entry.seq, entry.json]));
  const bodies = await encodeRecordBodies(rows.map((row) => jsonOf.get(row.seq)!));
  return rows.map((row, i) => ({ time: row.time, seq: row.seq, body: bodies[i]! }));
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
