import type { Journal, JournalEntry } from "../../journal/journal.js";
import { recordAccountId, type CloudTrailRecord } from "../../model/record.js";
import { classifyRecord, eventTimeSeconds, lookupEventFromRecord, type EventHistoryCategory } from "./derive.js";
import type { LookupAttributeKey, LookupEvent, LookupQuery, LookupResult } from "./event-history.js";
import { decodeNextToken, encodeNextToken, queryFingerprint, type TokenPosition } from "./next-token.js";
import { DerivedEntry, NOT_EVENT_HISTORY, UNPARSABLE, type RecordPostings } from "./derived-postings.js";
import {
  allEventsKey,
  attributeApplies,
  eventHasAttribute,
  eventKeys,
  layoutTermKey,
  readOnlyCode,
  type PostingLayout,
  type ReadOnlyCode,
  type Scope,
} from "./posting-key.js";

/**
 * What every Event history backend shares: the postings an entry contributes, and LookupEvents
 * paging over a backend's posting scan with the records read back (docs/decisions/0003-event-history-index.md).
 * A backend supplies only where postings and records live.
 */

/** What one event contributes to the index. */
export interface PostingRow {
  readonly keys: readonly number[];
  readonly time: number;
  readonly seq: number;
  /** Compact layout only: the event's all-events posting, whose seq carries its ReadOnly (posting-key.ts). */
  readonly allEvents?: { readonly key: number; readonly readOnly: ReadOnlyCode };
  /** The event's scope and ReadOnly value, for a backend that indexes write events apart (PostgreSQL, decision 0013). */
  readonly scope?: Scope;
  readonly readOnly?: string;
}

/**
 * A compact layout's all-events key in a query: as the driver of the no-filter query (no `readOnly`),
 * or standing for ReadOnly=true (`readOnly` 1): only its postings with that code match.
 */
export interface AllEventsTerm {
  readonly key: number;
  readonly readOnly?: ReadOnlyCode;
}

export interface CandidateScan {
  readonly positions: readonly TokenPosition[];
  readonly scannedRows: number;
  /** Set when the scan stopped at its cap: everything from `before` down to this position (inclusive) was examined. */
  readonly resumeBefore?: TokenPosition;
}

/**
 * Positions of events having every key, newest first, strictly before `before`, not older than
 * `startTime`, at most `limit`; keys[0] is the most selective and drives the scan, which examines at
 * most `scanRowsMax` driver rows of an AND. `allEvents` (only asked of a compact-layout backend) is one
 * more term: the driver when `keys` is empty, else ReadOnly=true among the probes.
 */
export type CandidateSource = (
  keys: readonly number[],
  startTime: number,
  before: TokenPosition,
  limit: number,
  scanRowsMax: number,
  allEvents: AllEventsTerm | undefined,
) => CandidateScan | Promise<CandidateScan>;

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

/** The records' JSON at these positions, by seq; a position whose record is gone (retention) is absent. */
export type RecordReader = (positions: readonly TokenPosition[]) => Promise<ReadonlyMap<number, string>>;

/** Records read back from the journal by seq (the embedded Event history keeps none of its own). */
export function journalRecords(journal: Pick<Journal, "readMany">): RecordReader {
  return async (positions) => {
    const entries = await journal.readMany(positions.map((position) => position.seq));
    return new Map([...entries].map(([seq, entry]) => [seq, entry.json]));
  };
}

interface Candidate {
  readonly event: LookupEvent;
  readonly position: TokenPosition;
}

/** The posting rows of a batch (what Event history does not keep is counted, not indexed). */
export function postingRowsOf(
  batch: readonly JournalEntry[],
  cutoff: number,
  counters: EventHistoryCounters,
  layout: PostingLayout = "wide",
  options: { readonly withScope?: boolean } = {},
): PostingRow[] {
  const rows: PostingRow[] = [];
  const withScope = options.withScope === true;
  for (const entry of batch) {
    const postings =
      entry instanceof DerivedEntry ? entry.postingsIn(layout) : recordPostings(parsed(entry.json), layout, withScope);
    const row = rowOf(postings, entry.seq, cutoff, counters);
    if (row !== undefined) rows.push(row);
  }
  return rows;
}

function parsed(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

/**
 * What a record contributes to an index of `layout`, before retention is applied: its eventTime,
 * keys and (compact layout) all-events posting, or why Event history does not keep it. Throws for a
 * record whose fields cannot be derived (the runner quarantines it). Runs on the index worker for a
 * record it read, or on the server thread for one the journal's append observer handed over parsed
 * (posting-hints.ts): the same function either way.
 */
export function recordPostings(
  record: unknown,
  layout: PostingLayout,
  withScope = false,
): PostingsWithScope | typeof UNPARSABLE | typeof NOT_EVENT_HISTORY {
  const time = typeof record === "object" && record !== null ? eventTimeSeconds(record as CloudTrailRecord) : undefined;
  if (time === undefined || time < 0) return UNPARSABLE;
  const cloudTrailRecord = record as CloudTrailRecord;
  const category = classifyRecord(cloudTrailRecord);
  if (category === undefined) return NOT_EVENT_HISTORY;
  const scope: Scope = {
    category,
    accountId: recordAccountId(cloudTrailRecord),
    region: cloudTrailRecord.awsRegion ?? "",
  };
  // The LookupEvent's CloudTrailEvent (the record's text) plays no part in its keys.
  const event = lookupEventFromRecord("", cloudTrailRecord);
  const keys = eventKeys(scope, event, layout);
  const postings: PostingsWithScope =
    layout === "wide"
      ? { time, keys }
      : { time, keys, allEvents: { key: allEventsKey(scope, layout), readOnly: readOnlyCode(event) } };
  return withScope ? { ...postings, scope, readOnly: event.ReadOnly } : postings;
}

/**
 * A record's postings with its scope and ReadOnly value, which the PostgreSQL index's write postings
 * need (decision 0013). Postings derived on the server thread (DerivedEntry) cross to the embedded
 * index worker without them.
 */
type PostingsWithScope = Exclude<RecordPostings, string> & { readonly scope?: Scope; readonly readOnly?: string };

/** The row of an entry's postings, or undefined (counted) when Event history does not keep it. */
function rowOf(
  postings: RecordPostings,
  seq: number,
  cutoff: number,
  counters: EventHistoryCounters,
): PostingRow | undefined {
  if (postings === UNPARSABLE) {
    counters.unparsable++;
    return undefined;
  }
  if (postings === NOT_EVENT_HISTORY) {
    counters.notEventHistory++;
    return undefined;
  }
  if (postings.time < cutoff) {
    counters.expired++;
    return undefined;
  }
  const { keys, time, allEvents } = postings;
  const { scope, readOnly } = postings as PostingsWithScope;
  const row: PostingRow = allEvents === undefined ? { keys, time, seq } : { keys, time, seq, allEvents };
  return scope === undefined ? row : { ...row, scope, readOnly };
}

/** One LookupEvents page: the backend's candidates, re-checked against their records (hash collisions are harmless). */
export async function lookupPage(
  query: LookupQuery,
  records: RecordReader,
  scanRowsMax: number,
  candidates: CandidateSource,
  layout: PostingLayout = "wide",
): Promise<LookupResult> {
  const fingerprint = queryFingerprint(query);
  const category: EventHistoryCategory = query.eventCategory ?? "management";
  const startTime = Math.ceil(query.startTimeMs / 1000);
  const endTime = Math.floor(query.endTimeMs / 1000);
  let before: TokenPosition = { time: endTime, seq: Number.MAX_SAFE_INTEGER };
  if (query.nextToken !== undefined) {
    const position = decodeNextToken(query.nextToken, fingerprint);
    if (position.time <= endTime) before = position;
  }
  if (startTime > endTime || !query.attributes.every((a) => attributeApplies(category, a.key))) return { events: [] };

  const scope: Scope = { category, accountId: query.accountId, region: query.region };
  const { keys, allEvents } = queryKeys(scope, query, layout);
  const found: Candidate[] = [];
  let scanRowsLeft = scanRowsMax;
  // Look one event past the page: a next token is returned only when more results exist.
  while (found.length <= query.maxResults) {
    const want = query.maxResults + 1 - found.length;
    const scan = await candidates(keys, startTime, before, want, scanRowsLeft, allEvents);
    scanRowsLeft -= scan.scannedRows;
    if (scan.positions.length > 0) {
      const jsons = await records(scan.positions);
      for (const position of scan.positions) {
        const json = jsons.get(position.seq);
        // Absent: trimmed by retention. Not matching: a hash collision.
        const event = json === undefined ? undefined : matchingEvent(json, scope, query, startTime, endTime);
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

function queryKeys(
  scope: Scope,
  query: LookupQuery,
  layout: PostingLayout,
): { keys: number[]; allEvents?: AllEventsTerm } {
  if (query.attributes.length === 0) {
    const key = allEventsKey(scope, layout);
    return layout === "wide" ? { keys: [key] } : { keys: [], allEvents: { key } };
  }
  const attributes = [...query.attributes].sort((a, b) => SELECTIVITY_RANK[a.key] - SELECTIVITY_RANK[b.key]);
  // Compact: ReadOnly=true is the all-events postings with code 1 (posting-key.ts).
  const readOnlyTrue = (a: LookupQuery["attributes"][number]): boolean =>
    layout === "compact" && a.key === "ReadOnly" && a.value === "true";
  const keys = attributes
    .filter((a) => !readOnlyTrue(a))
    .map((attribute) => layoutTermKey(scope, attribute.key, attribute.value, layout));
  if (!attributes.some(readOnlyTrue)) return { keys: [...new Set(keys)] };
  return { keys: [...new Set(keys)], allEvents: { key: allEventsKey(scope, layout), readOnly: 1 } };
}

/** The entry's LookupEvent when its record really satisfies the query, which makes hash collisions harmless. */
function matchingEvent(
  json: string,
  scope: Scope,
  query: LookupQuery,
  startTime: number,
  endTime: number,
): LookupEvent | undefined {
  let record: CloudTrailRecord;
  try {
    record = JSON.parse(json) as CloudTrailRecord;
  } catch {
    return undefined;
  }
  if (classifyRecord(record) !== scope.category) return undefined;
  if (recordAccountId(record) !== scope.accountId || (record.awsRegion ?? "") !== scope.region) return undefined;
  const event = lookupEventFromRecord(json, record);
  if (event.EventTime < startTime || event.EventTime > endTime) return undefined;
  return query.attributes.every((a) => eventHasAttribute(event, a.key, a.value)) ? event : undefined;
}
