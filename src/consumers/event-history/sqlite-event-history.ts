import type { Journal, JournalEntry } from "../../journal/journal.js";
import { systemClock, type Clock } from "../../lib/clock.js";
import { recordAccountId, type CloudTrailRecord } from "../../model/record.js";
import { AppliedSeq } from "../applied-seq.js";
import type { Consumer } from "../consumer.js";
import { ConsumerRunner, type ConsumerJournal, type ConsumerRunnerOptions } from "../runner.js";
import { classifyRecord, eventTimeSeconds, lookupEventFromRecord, type EventHistoryCategory } from "./derive.js";
import type {
  EventHistory,
  LookupAttributeKey,
  LookupEvent,
  LookupQuery,
  LookupResult,
  PruneResult,
} from "./event-history.js";
import { decodeNextToken, encodeNextToken, queryFingerprint, type TokenPosition } from "./next-token.js";
import { PostingStore, type PostingRow } from "./posting-store.js";
import {
  ALL_EVENTS_ATTRIBUTE,
  attributeApplies,
  eventHasAttribute,
  eventKeys,
  termKey,
  type Scope,
} from "./posting-key.js";

/** Counters of what the consumer did with the entries it was handed. */
export interface EventHistoryCounters {
  indexed: number;
  /** Data / network activity events and the like, which Event history never shows. */
  notEventHistory: number;
  /** eventTime already outside the retention window when the entry was indexed. */
  expired: number;
  /** Entries that do not parse as a record with an eventTime; cannot happen for a valid journal. */
  unparsable: number;
}

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
 * Most selective attribute first: the first key of an AND drives the posting scan and the others are
 * probed, so a rare driver keeps the scan short. A static order rather than statistics because the
 * spread of values per attribute is much the same in every account.
 */
const SELECTIVITY_RANK: Record<LookupAttributeKey, number> = {
  EventId: 0,
  AccessKeyId: 1,
  ResourceName: 2,
  Username: 3,
  EventName: 4,
  ResourceType: 5,
  EventSource: 6,
  ReadOnly: 7,
};

interface Candidate {
  readonly event: LookupEvent;
  readonly position: TokenPosition;
}

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

  /**
   * Indexes `journal` on this thread until close(): the single-thread deployment. (The server runs
   * this consumer on a worker thread instead: ThreadedEventHistory.)
   */
  async follow(journal: ConsumerJournal, options: ConsumerRunnerOptions = {}): Promise<void> {
    if (this.runner !== undefined) throw new Error("The event history already follows a journal.");
    this.runner = new ConsumerRunner(journal, this, options);
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
    const cutoff = this.cutoffTime();
    const rows: PostingRow[] = [];
    for (const entry of batch) {
      const row = this.postingRow(entry, cutoff);
      if (row !== undefined) rows.push(row);
    }
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

  private postingRow(entry: JournalEntry, cutoff: number): PostingRow | undefined {
    let record: CloudTrailRecord;
    try {
      record = JSON.parse(entry.json) as CloudTrailRecord;
    } catch {
      this.counters.unparsable++;
      return undefined;
    }
    const time = typeof record === "object" && record !== null ? eventTimeSeconds(record) : undefined;
    if (time === undefined || time < 0) {
      this.counters.unparsable++;
      return undefined;
    }
    const category = classifyRecord(record);
    if (category === undefined) {
      this.counters.notEventHistory++;
      return undefined;
    }
    if (time < cutoff) {
      this.counters.expired++;
      return undefined;
    }
    const scope: Scope = { category, accountId: recordAccountId(record), region: record.awsRegion ?? "" };
    return { keys: eventKeys(scope, lookupEventFromRecord(entry.json, record)), time, seq: entry.seq };
  }

  /** Deletes postings older than the retention window. The server calls it on open and every hour. */
  async prune(): Promise<PruneResult> {
    return this.store.prune(this.cutoffTime());
  }

  async lookup(query: LookupQuery): Promise<LookupResult> {
    const fingerprint = queryFingerprint(query);
    const category: EventHistoryCategory = query.eventCategory === "insight" ? "insight" : "management";
    const startTime = Math.ceil(query.startTimeMs / 1000);
    const endTime = Math.floor(query.endTimeMs / 1000);
    let before: TokenPosition = { time: endTime, seq: Number.MAX_SAFE_INTEGER };
    if (query.nextToken !== undefined) {
      const position = decodeNextToken(query.nextToken, fingerprint);
      if (position.time <= endTime) before = position;
    }
    if (startTime > endTime || !query.attributes.every((a) => attributeApplies(category, a.key))) return { events: [] };

    const scope: Scope = { category, accountId: query.accountId, region: query.region };
    const keys = this.queryKeys(scope, query);
    const found: Candidate[] = [];
    let scanRowsLeft = this.scanRowsMax;
    // Look one event past the page: a next token is returned only when more results exist.
    while (found.length <= query.maxResults) {
      const want = query.maxResults + 1 - found.length;
      const scan = this.store.candidates(keys, startTime, before, want, scanRowsLeft);
      scanRowsLeft -= scan.scannedRows;
      if (scan.positions.length > 0) {
        const entries = await this.journal.readMany(scan.positions.map((position) => position.seq));
        for (const position of scan.positions) {
          const entry = entries.get(position.seq);
          // Absent: trimmed by journal retention. Not matching: a hash collision.
          const event = entry === undefined ? undefined : matchingEvent(entry, scope, query, startTime, endTime);
          if (event !== undefined) found.push({ event, position });
        }
      }
      if (scan.resumeBefore !== undefined) {
        // Out of scan budget with fewer than a page plus one: a short (maybe empty) page, resumed below.
        return { events: found.map((c) => c.event), nextToken: encodeNextToken(scan.resumeBefore, fingerprint) };
      }
      if (scan.positions.length < want) break;
      before = scan.positions[scan.positions.length - 1]!;
    }
    const page = found.slice(0, query.maxResults);
    const last = page.at(-1);
    if (found.length <= query.maxResults || last === undefined) return { events: page.map((c) => c.event) };
    return { events: page.map((c) => c.event), nextToken: encodeNextToken(last.position, fingerprint) };
  }

  private queryKeys(scope: Scope, query: LookupQuery): number[] {
    const attributes = [...query.attributes].sort((a, b) => SELECTIVITY_RANK[a.key] - SELECTIVITY_RANK[b.key]);
    const keys = attributes.map((attribute) => termKey(scope, attribute.key, attribute.value));
    if (keys.length === 0) keys.push(termKey(scope, ALL_EVENTS_ATTRIBUTE, ""));
    return [...new Set(keys)];
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

/** The entry's LookupEvent when its record really satisfies the query, which makes hash collisions harmless. */
function matchingEvent(
  entry: JournalEntry,
  scope: Scope,
  query: LookupQuery,
  startTime: number,
  endTime: number,
): LookupEvent | undefined {
  let record: CloudTrailRecord;
  try {
    record = JSON.parse(entry.json) as CloudTrailRecord;
  } catch {
    return undefined;
  }
  if (classifyRecord(record) !== scope.category) return undefined;
  if (recordAccountId(record) !== scope.accountId || (record.awsRegion ?? "") !== scope.region) return undefined;
  const event = lookupEventFromRecord(entry.json, record);
  if (event.EventTime < startTime || event.EventTime > endTime) return undefined;
  return query.attributes.every((a) => eventHasAttribute(event, a.key, a.value)) ? event : undefined;
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
