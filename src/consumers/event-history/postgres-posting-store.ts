import {
  migrate,
  safeInteger,
  type Migration,
  type PostgresDatabase,
  type Queryable,
  type Subscription,
} from "../../stores/postgres/index.js";
import type { PruneResult } from "./event-history.js";
import type { CandidateScan, PostingRow } from "./lookup-pages.js";
import type { TokenPosition } from "./next-token.js";
import { allEventsKey, termKey } from "./posting-key.js";

/**
 * The PostgreSQL side of the Event history index (docs/decisions/0013-event-history-postgres.md):
 * postings `(term_key, event_time, seq)` pointing at journal seqs, and each event's record
 * (compressed) by `(event_time, seq)`, both in tables partitioned by UTC day of eventTime so
 * retention is a DROP TABLE of whole days. The term key already hashes the scope (category,
 * account, region) in, so the postings carry no scope columns: three BIGINTs a row.
 */

const SECONDS_PER_DAY = 86_400;
const POSTINGS = "cairn_event_history_postings";
const RECORDS = "cairn_event_history_records";
/** The postings of write events (ReadOnly=false) again, so "X AND ReadOnly=false" is one key's scan (migration 4). */
const WRITES = "cairn_event_history_write_postings";
/** Days whose write postings are incomplete: their postings partition existed before their write one (migration 4). */
const LEGACY_DAYS = "cairn_event_history_write_legacy_days";
const PARTITION_PATTERN = /^cairn_event_history_postings_d(\d{1,9})$/;
/** How long a node trusts its list of legacy days before reading it again (an older node may still index). */
const LEGACY_DAYS_TTL_MS = 60_000;
/**
 * Serialises creating and dropping day partitions across nodes (the bytes of "cairnehp"), so two
 * indexers meeting a new day, or an indexer and a prune, never race on the catalog.
 */
const PARTITION_LOCK = 0x636169726e656870n.toString();
/** Driver rows per AND statement: small enough to stop near the cap, large enough to amortise the round trip. */
const AND_CHUNK_ROWS = 1_024;

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "day-partitioned postings and the applied cursor",
    sql: `CREATE TABLE ${POSTINGS} (
            term_key   BIGINT NOT NULL,
            event_time BIGINT NOT NULL,
            seq        BIGINT NOT NULL,
            PRIMARY KEY (term_key, event_time, seq)
          ) PARTITION BY RANGE (event_time);
          CREATE TABLE cairn_event_history_cursor (
            name TEXT PRIMARY KEY,
            seq  BIGINT NOT NULL
          );
          INSERT INTO cairn_event_history_cursor (name, seq) VALUES ('event-history', 0)`,
  },
  {
    version: 2,
    name: "the indexer's fencing token beside the cursor",
    // The highest lease token that claimed the cursor; NULL until a leased indexer claims it.
    sql: `ALTER TABLE cairn_event_history_cursor ADD COLUMN fencing_token BIGINT CHECK (fencing_token >= 0)`,
  },
  {
    version: 3,
    name: "each event's record beside its postings",
    // The body is compressed by Cairn (record-body.ts): EXTERNAL keeps PostgreSQL from compressing it again.
    sql: `CREATE TABLE ${RECORDS} (
            event_time BIGINT NOT NULL,
            seq        BIGINT NOT NULL,
            body       BYTEA NOT NULL,
            PRIMARY KEY (event_time, seq)
          ) PARTITION BY RANGE (event_time);
          ALTER TABLE ${RECORDS} ALTER COLUMN body SET STORAGE EXTERNAL`,
  },
  {
    version: 4,
    name: "the postings of write events in a table of their own",
    // No backfill: days indexed before this step have no write partition and are found as legacy
    // days (LEGACY_DAYS_SQL), whose ANDs keep probing the postings until they age out.
    sql: `CREATE TABLE ${WRITES} (
            term_key   BIGINT NOT NULL,
            event_time BIGINT NOT NULL,
            seq        BIGINT NOT NULL,
            PRIMARY KEY (term_key, event_time, seq)
          ) PARTITION BY RANGE (event_time);
          CREATE TABLE ${LEGACY_DAYS} (day INTEGER PRIMARY KEY)`,
  },
];

/**
 * Days whose write postings may be incomplete: recorded when this build added a write partition to a
 * day that already had postings, or a postings partition with no write partition beside it (indexed
 * before migration 4, or by an older node still running). This build creates a day's three
 * partitions in one transaction, so a day it started is never listed.
 */
const LEGACY_DAYS_SQL = `SELECT day FROM ${LEGACY_DAYS}
  UNION
  SELECT substring(c.relname FROM '_d([0-9]+)$')::int AS day
  FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
  WHERE i.inhparent = '${POSTINGS}'::regclass
    AND to_regclass(replace(c.relname, '${POSTINGS}', '${WRITES}')) IS NULL`;

/** The newest-first window shared by both scans: $2 start, $3 before.time, $4 before.seq. */
const WINDOW = "event_time >= $2 AND event_time <= $3 AND (event_time, seq) < ($3, $4)";

type PostingTable = typeof POSTINGS | typeof WRITES;

/**
 * One key's positions in a window, each with its record (NULL for postings older than the records
 * table): every position a single-key scan returns is on the page, so the records come in the same
 * round trip, from the window's days only.
 */
const singleKeySql = (table: PostingTable): string => `SELECT d.event_time, d.seq, r.body
  FROM (SELECT event_time, seq FROM ${table} WHERE term_key = $1 AND ${WINDOW}
        ORDER BY event_time DESC, seq DESC LIMIT $5) AS d
  LEFT JOIN LATERAL (
    SELECT body FROM ${RECORDS} WHERE event_time = d.event_time AND seq = d.seq
      AND event_time >= $2 AND event_time <= $3 LIMIT 1
  ) AS r ON true
  ORDER BY d.event_time DESC, d.seq DESC`;

/**
 * A chunk of driver rows, each flagged with whether every probed key ($6) has a posting at the same
 * (time, seq). The probe repeats the window's bounds so that its partitions, too, are pruned when the
 * statement starts (see scanWindows).
 */
const andSql = (table: PostingTable): string => `SELECT d.event_time, d.seq,
    (SELECT count(*) FROM ${table} AS p
      WHERE p.term_key = ANY($6::bigint[]) AND p.event_time = d.event_time AND p.seq = d.seq
        AND p.event_time >= $2 AND p.event_time <= $3)
      = cardinality($6::bigint[]) AS hit
  FROM (SELECT event_time, seq FROM ${table} WHERE term_key = $1 AND ${WINDOW}
        ORDER BY event_time DESC, seq DESC LIMIT $5) AS d
  ORDER BY d.event_time DESC, d.seq DESC`;

/** Each statement's text and the prefix of its prepared names (one per window size), per table. */
const SCANS = {
  [POSTINGS]: { single: singleKeySql(POSTINGS), and: andSql(POSTINGS), name: "cairn_eh" },
  [WRITES]: { single: singleKeySql(WRITES), and: andSql(WRITES), name: "cairn_eh_writes" },
} as const;

const insertSql = (table: PostingTable): string => `INSERT INTO ${table} (term_key, event_time, seq)
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) ON CONFLICT DO NOTHING`;

const INSERT_RECORDS_SQL = `INSERT INTO ${RECORDS} (event_time, seq, body)
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[]) ON CONFLICT DO NOTHING`;

/**
 * The records at exact positions ($1 times, $2 seqs): one primary-key probe each, in the one day
 * partition its time prunes to. LIMIT 1 keeps the subquery from being flattened into a join the
 * planner may turn into a scan of every day in the page's range. $3 and $4 (the positions' oldest and
 * newest time) let the statement start with only those days' partitions (see scanWindows).
 */
const RECORDS_SQL = `SELECT p.seq, r.body
  FROM unnest($1::bigint[], $2::bigint[]) AS p (event_time, seq)
  CROSS JOIN LATERAL (
    SELECT body FROM ${RECORDS} WHERE event_time = p.event_time AND seq = p.seq
      AND event_time >= $3 AND event_time <= $4 LIMIT 1
  ) AS r`;

const ADVANCE_CURSOR_SQL = "UPDATE cairn_event_history_cursor SET seq = GREATEST(seq, $1) WHERE name = 'event-history'";

/** Each committed batch announces the cursor it reached here (delivered on commit, to every node). */
const CURSOR_CHANNEL = "cairn_event_history_cursor";

/**
 * The cursor under a fencing token ($2; NULL for an unfenced indexer): moves only forward, and only
 * while no higher token claimed it (an unfenced one only while no token ever did). No row back means
 * refused. First in a batch's transaction, so its row lock orders the batch against a new holder's
 * claim. The NOTIFY wakes lookups waiting on other nodes at commit, instead of at their next poll.
 */
const FENCED_ADVANCE_SQL = `WITH moved AS (
    UPDATE cairn_event_history_cursor
    SET seq = GREATEST(seq, $1), fencing_token = COALESCE($2, fencing_token)
    WHERE name = 'event-history'
      AND (fencing_token IS NULL OR fencing_token <= $2)
    RETURNING seq
  )
  SELECT seq, pg_notify('${CURSOR_CHANNEL}', seq::text) FROM moved`;

/** A new holder's claim: records its token (refusing every lower one from now on) and returns where to resume. */
const CLAIM_SQL = `UPDATE cairn_event_history_cursor SET fencing_token = $1
  WHERE name = 'event-history' AND (fencing_token IS NULL OR fencing_token <= $1)
  RETURNING seq`;

/**
 * A batch or claim under a fencing token that a later holder of the indexer lease superseded (or an
 * unfenced write once a token claimed the cursor): nothing was written.
 */
export class IndexerFencedOffError extends Error {
  constructor(readonly fencingToken: number | undefined) {
    super(
      fencingToken === undefined
        ? "The event history cursor is claimed by a leased indexer; an unfenced write is refused."
        : `The event history cursor is claimed under a higher token than ${fencingToken}: the indexer lease passed to another node.`,
    );
    this.name = "IndexerFencedOffError";
  }
}

function dayOf(time: number): number {
  return Math.floor(time / SECONDS_PER_DAY);
}

/** Days of the second scan window (the first is the 24 hours up to the scan's start, the third the rest). */
const NEXT_WINDOW_DAYS = 7;

/** Which window's prepared statement serves a range of `seconds`: 0 one day, 1 a week, 2 longer. */
function windowName(seconds: number): number {
  if (seconds <= SECONDS_PER_DAY) return 0;
  return seconds <= (NEXT_WINDOW_DAYS + 1) * SECONDS_PER_DAY ? 1 : 2;
}

/**
 * The lower bounds of the windows a scan walks, newest first: the 24 hours up to `beforeTime`, the
 * 7 days before those, then everything down to `startTime` (24 hours rather than the calendar day,
 * which just after midnight UTC holds almost nothing). A prepared statement's generic plan initialises
 * every day partition its parameters leave in, before the LIMIT can stop it: a 90-day window cost
 * ~1.3 ms a statement against ~0.26 ms for one day (pgbench, 1M events). Most pages come from the
 * first window; a rare value pays up to two more round trips. Each window has prepared statements of
 * its own (`windowName`): PostgreSQL chooses between a custom and the generic plan per statement from
 * the plans' estimated costs, and one statement serving 1-day and 80-day windows alike was planned
 * afresh at every execution (the cheap 1-day plans kept it from the generic one), 80 days included.
 */
function scanWindows(startTime: number, beforeTime: number, legacyDays: readonly number[] = []): number[] {
  const firstLow = beforeTime - SECONDS_PER_DAY + 1;
  const lows = [firstLow, firstLow - NEXT_WINDOW_DAYS * SECONDS_PER_DAY, startTime];
  // The day after the newest legacy day starts a window of its own: above it, an AND with
  // ReadOnly=false reads the write table; a window with a legacy day in it probes the postings.
  const newestLegacy = legacyDays[0];
  if (newestLegacy !== undefined) lows.push((newestLegacy + 1) * SECONDS_PER_DAY);
  const windows: number[] = [];
  for (const low of lows.filter((low) => low <= beforeTime).sort((a, b) => b - a)) {
    if (windows.includes(Math.max(low, startTime))) continue;
    windows.push(Math.max(low, startTime));
    if (low <= startTime) break;
  }
  return windows;
}

/** A day partition's name: from a number, never from input (identifiers cannot be parameters). */
function partitionName(day: number, table: PostingTable | typeof RECORDS = POSTINGS): string {
  if (!Number.isSafeInteger(day) || day < 0) throw new RangeError(`Not an epoch day: ${day}.`);
  return `${table}_d${day}`;
}

/** One event's record as the index keeps it: compressed (record-body.ts), at its position. */
export interface StoredRecord {
  readonly time: number;
  readonly seq: number;
  readonly body: Buffer;
}

interface PostingColumns {
  readonly keys: number[];
  readonly times: number[];
  readonly seqs: number[];
}

/**
 * The postings of a batch as three parallel columns, one entry per (key, event): all of them, and
 * those of write events again for the write table. A write event's "all events" and ReadOnly=false
 * keys are left out there: an AND never drives or probes the write table with them.
 */
function postingColumns(rows: readonly PostingRow[]): { all: PostingColumns; writes: PostingColumns } {
  const all: PostingColumns = { keys: [], times: [], seqs: [] };
  const writes: PostingColumns = { keys: [], times: [], seqs: [] };
  for (const row of rows) {
    for (const key of row.keys) push(all, key, row);
    // Postings derived without the record (the embedded worker's DerivedEntry) cannot say which are writes.
    if (row.scope === undefined) throw new Error(`The postings of journal entry ${row.seq} came without their scope.`);
    if (row.readOnly !== "false") continue;
    const skipped = new Set([allEventsKey(row.scope, "wide"), termKey(row.scope, "ReadOnly", "false")]);
    for (const key of row.keys) if (!skipped.has(key)) push(writes, key, row);
  }
  return { all, writes };
}

function push(columns: PostingColumns, key: number, row: PostingRow): void {
  columns.keys.push(key);
  columns.times.push(row.time);
  columns.seqs.push(row.seq);
}

async function tableExists(db: Queryable, name: string): Promise<boolean> {
  const [row] = await db.query<{ found: boolean }>("SELECT to_regclass($1) IS NOT NULL AS found", [name]);
  return row?.found === true;
}

/** A scan's positions with the records (compressed) that came with them, by seq. */
export interface CandidateScanWithRecords extends CandidateScan {
  readonly records: ReadonlyMap<number, Buffer>;
}

/** A scan's result while it is built, window by window. */
interface MutableScan {
  positions: TokenPosition[];
  scannedRows: number;
  resumeBefore?: TokenPosition;
  records: Map<number, Buffer>;
}

interface PositionRow {
  event_time: string;
  seq: string;
}

function positionOf(row: PositionRow): TokenPosition {
  return { time: safeInteger(row.event_time, "an event time"), seq: safeInteger(row.seq, "a journal seq") };
}

export class PostgresPostingStore {
  /** Day partitions this node knows exist; creating one is skipped for them. */
  private readonly knownDays = new Set<number>();
  /** Days whose write postings may be incomplete (LEGACY_DAYS_SQL), newest first, and when they were read. */
  private legacyDays: number[] = [];
  private legacyReadAt = -Infinity;

  private constructor(private readonly db: PostgresDatabase) {}

  /** Migrates the schema (once per database, whichever node comes first). */
  static async open(db: PostgresDatabase): Promise<PostgresPostingStore> {
    await migrate(db, "event-history", MIGRATIONS);
    return new PostgresPostingStore(db);
  }

  async cursor(): Promise<number> {
    const [row] = await this.db.query<{ seq: string }>(
      "SELECT seq FROM cairn_event_history_cursor WHERE name = 'event-history'",
    );
    return row === undefined ? 0 : safeInteger(row.seq, "the event history cursor");
  }

  /**
   * Calls `onCursor` with the cursor each committed batch reached, on any node; with undefined after
   * the listening connection came back (notifications may have been missed: read the cursor again).
   */
  watchCursor(onCursor: (seq: number | undefined) => void): Promise<Subscription> {
    return this.db.listen(CURSOR_CHANNEL, (payload) => {
      const seq = payload === undefined ? undefined : Number(payload);
      onCursor(seq === undefined || Number.isSafeInteger(seq) ? seq : undefined);
    });
  }

  /**
   * Claims the cursor for `fencingToken` (the indexer lease's) and returns it: from now on a batch
   * under a lower token is refused. Rejects with IndexerFencedOffError when a higher token claimed it.
   */
  async claim(fencingToken: number): Promise<number> {
    const [row] = await this.db.query<{ seq: string }>(CLAIM_SQL, [fencingToken]);
    if (row === undefined) throw new IndexerFencedOffError(fencingToken);
    return safeInteger(row.seq, "the event history cursor");
  }

  /**
   * Inserts the postings and records and advances the cursor in one transaction: all become durable,
   * or none. Idempotent: a batch handed again after a crash inserts nothing twice. Under
   * `fencingToken` the cursor is written first and the whole batch refused (IndexerFencedOffError)
   * once a later holder claimed the cursor: a paused indexer that wakes after losing its lease writes nothing.
   */
  async apply(
    rows: readonly PostingRow[],
    records: readonly StoredRecord[],
    cursor: number,
    fencingToken?: number,
  ): Promise<void> {
    try {
      await this.createPartitions(rows);
      const postings = postingColumns(rows);
      await this.db.transaction(async (tx) => {
        const advanced = await tx.query(FENCED_ADVANCE_SQL, [cursor, fencingToken ?? null]);
        if (advanced.length === 0) throw new IndexerFencedOffError(fencingToken);
        for (const [table, columns] of [
          [POSTINGS, postings.all],
          [WRITES, postings.writes],
        ] as const)
          if (columns.keys.length > 0) await tx.query(insertSql(table), [columns.keys, columns.times, columns.seqs]);
        if (records.length > 0)
          await tx.query(INSERT_RECORDS_SQL, [
            records.map((record) => record.time),
            records.map((record) => record.seq),
            records.map((record) => record.body),
          ]);
      });
    } catch (error) {
      // Another node's prune may have dropped a day this node thought existed: look again next time.
      this.knownDays.clear();
      throw error;
    }
  }

  /**
   * Creates the missing day partitions, each in a short transaction of its own before the batch's:
   * creating a partition locks the parent table against readers until commit, which must not last
   * as long as a batch. An empty partition left by a batch that then failed is harmless.
   */
  private async createPartitions(rows: readonly PostingRow[]): Promise<void> {
    const days = new Set(rows.map((row) => dayOf(row.time)));
    for (const day of days) {
      if (this.knownDays.has(day)) continue;
      await this.db.transaction(async (tx) => {
        await tx.query("SELECT pg_advisory_xact_lock($1)", [PARTITION_LOCK]);
        // A day begun without a write partition (before migration 4, or by an older node) stays legacy.
        if ((await tableExists(tx, partitionName(day))) && !(await tableExists(tx, partitionName(day, WRITES))))
          await tx.query(`INSERT INTO ${LEGACY_DAYS} (day) VALUES ($1) ON CONFLICT DO NOTHING`, [day]);
        const from = day * SECONDS_PER_DAY;
        for (const table of [POSTINGS, RECORDS, WRITES] as const)
          await tx.query(
            `CREATE TABLE IF NOT EXISTS ${partitionName(day, table)} PARTITION OF ${table} ` +
              `FOR VALUES FROM (${from}) TO (${from + SECONDS_PER_DAY})`,
          );
      });
      this.knownDays.add(day);
    }
  }

  /** An empty transaction that takes the partition lock: resolves when the index takes writes now. */
  async probe(): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [PARTITION_LOCK]);
      await tx.query(ADVANCE_CURSOR_SQL, [0]);
    });
  }

  /**
   * Positions of events having every key, newest first, strictly before `before`, not older than
   * `startTime`, at most `limit`; keys[0] drives the scan. An AND examines at most `scanRowsMax`
   * driver rows and, at the cap, reports where it stopped (see posting-store.ts for why).
   */
  async candidates(
    keys: readonly number[],
    startTime: number,
    before: TokenPosition,
    limit: number,
    scanRowsMax: number,
    readOnlyFalseKey?: number,
  ): Promise<CandidateScanWithRecords> {
    const scan: MutableScan = { positions: [], scannedRows: 0, records: new Map() };
    if (keys.length === 0) return scan;
    // "… AND ReadOnly=false": the other keys in the write table, where every posting is a write event's.
    const writeKeys = keys.filter((key) => key !== readOnlyFalseKey);
    const writes = writeKeys.length > 0 && writeKeys.length < keys.length ? writeKeys : undefined;
    const legacy = writes === undefined ? [] : await this.legacyDaysNow();
    let cursor = before;
    for (const low of scanWindows(startTime, before.time, legacy)) {
      const fast = writes !== undefined && !legacy.some((day) => day >= dayOf(low) && day <= dayOf(cursor.time));
      const table: PostingTable = fast ? WRITES : POSTINGS;
      const [driver, ...probed] = fast ? writes : keys;
      const done =
        probed.length === 0
          ? await this.scanSingleKey(table, driver!, low, cursor, limit, scan)
          : await this.scanAnd(table, driver!, probed, low, cursor, limit, scanRowsMax, scan);
      if (done) return scan;
      // Everything at or after this window's start is examined: the next window ends just below it.
      cursor = { time: low - 1, seq: Number.MAX_SAFE_INTEGER };
    }
    return scan;
  }

  /** The legacy days, newest first, read again once they are older than LEGACY_DAYS_TTL_MS. */
  private async legacyDaysNow(): Promise<number[]> {
    if (performance.now() - this.legacyReadAt > LEGACY_DAYS_TTL_MS) {
      const rows = await this.db.query<{ day: number }>(LEGACY_DAYS_SQL);
      this.legacyDays = rows.map((row) => row.day).sort((a, b) => b - a);
      this.legacyReadAt = performance.now();
    }
    return this.legacyDays;
  }

  /** One window of a single-key scan; true when the page is full. */
  private async scanSingleKey(
    table: PostingTable,
    key: number,
    low: number,
    before: TokenPosition,
    limit: number,
    scan: MutableScan,
  ): Promise<boolean> {
    const name = `${SCANS[table].name}_single_key_w${windowName(before.time - low)}`;
    const rows = await this.db.queryPrepared<PositionRow & { body: Buffer | null }>(name, SCANS[table].single, [
      key,
      low,
      before.time,
      before.seq,
      limit - scan.positions.length,
    ]);
    for (const row of rows) {
      const position = positionOf(row);
      scan.positions.push(position);
      if (row.body !== null) scan.records.set(position.seq, row.body);
    }
    scan.scannedRows += rows.length;
    return scan.positions.length >= limit;
  }

  /**
   * One window of an AND, in chunks of driver rows; true when the page is full or the scan reached
   * its cap (then `resumeBefore` says where it stopped).
   */
  private async scanAnd(
    table: PostingTable,
    driver: number,
    probed: readonly number[],
    low: number,
    before: TokenPosition,
    limit: number,
    scanRowsMax: number,
    scan: MutableScan,
  ): Promise<boolean> {
    let cursor = before;
    const name = `${SCANS[table].name}_and_w${windowName(before.time - low)}`;
    for (;;) {
      const chunk = Math.min(AND_CHUNK_ROWS, scanRowsMax - scan.scannedRows);
      if (chunk <= 0) {
        scan.resumeBefore = cursor;
        return true;
      }
      const rows = await this.db.queryPrepared<PositionRow & { hit: boolean }>(name, SCANS[table].and, [
        driver,
        low,
        cursor.time,
        cursor.seq,
        chunk,
        probed,
      ]);
      for (const row of rows) {
        scan.scannedRows++;
        cursor = positionOf(row);
        if (!row.hit) continue;
        scan.positions.push(cursor);
        if (scan.positions.length >= limit) return true;
      }
      if (rows.length < chunk) return false;
    }
  }

  /** The stored records (compressed) at these positions, by seq; positions without one are absent. */
  async records(positions: readonly TokenPosition[]): Promise<Map<number, Buffer>> {
    if (positions.length === 0) return new Map();
    const times = positions.map((position) => position.time);
    const [oldest, newest] = [Math.min(...times), Math.max(...times)];
    const name = `cairn_eh_records_w${windowName(newest - oldest)}`;
    const rows = await this.db.queryPrepared<{ seq: string; body: Buffer }>(name, RECORDS_SQL, [
      times,
      positions.map((position) => position.seq),
      oldest,
      newest,
    ]);
    return new Map(rows.map((row) => [safeInteger(row.seq, "a journal seq"), row.body]));
  }

  /** Deletes every posting with eventTime < cutoffTime: whole day partitions are dropped, the boundary day is trimmed. */
  async prune(cutoffTime: number): Promise<PruneResult> {
    const cutoffDay = dayOf(cutoffTime);
    let partitionsDropped = 0;
    let postingsDeleted = 0;
    for (const day of await this.partitionDays()) {
      if (day > cutoffDay) continue;
      if (day === cutoffDay) {
        postingsDeleted += await this.trimDay(day, cutoffTime);
        continue;
      }
      postingsDeleted += await this.dropPartition(day);
      partitionsDropped++;
    }
    return { partitionsDropped, postingsDeleted };
  }

  /** Deletes the boundary day's postings and records older than the cutoff; returns the postings deleted. */
  private async trimDay(day: number, cutoffTime: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const [deleted] = await tx.query<{ n: string }>(
        `WITH gone AS (DELETE FROM ${partitionName(day)} WHERE event_time < $1 RETURNING 1) SELECT count(*) AS n FROM gone`,
        [cutoffTime],
      );
      // A day indexed before records (migration 3) or write postings (4) were kept has no such partition.
      for (const table of [RECORDS, WRITES] as const)
        if (await tableExists(tx, partitionName(day, table)))
          await tx.query(`DELETE FROM ${partitionName(day, table)} WHERE event_time < $1`, [cutoffTime]);
      return safeInteger(deleted?.n ?? "0", "a row count");
    });
  }

  /** Drops one day, postings and records (the postings it held are counted first, for the caller's report). */
  private async dropPartition(day: number): Promise<number> {
    this.knownDays.delete(day);
    return this.db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [PARTITION_LOCK]);
      const [row] = await tx.query<{ n: string }>(`SELECT count(*) AS n FROM ${partitionName(day)}`);
      await tx.query(`DROP TABLE ${partitionName(day)}`);
      await tx.query(`DROP TABLE IF EXISTS ${partitionName(day, RECORDS)}`);
      await tx.query(`DROP TABLE IF EXISTS ${partitionName(day, WRITES)}`);
      await tx.query(`DELETE FROM ${LEGACY_DAYS} WHERE day = $1`, [day]);
      return safeInteger(row?.n ?? "0", "a row count");
    });
  }

  /** The day partitions that exist now, oldest first. */
  async partitionDays(): Promise<number[]> {
    const rows = await this.db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
        WHERE i.inhparent = '${POSTINGS}'::regclass`,
    );
    return rows
      .map((row) => PARTITION_PATTERN.exec(row.name))
      .filter((match) => match !== null)
      .map((match) => Number(match[1]))
      .sort((a, b) => a - b);
  }

  /** Total postings (a full scan: for tests and benchmarks). */
  async countPostings(): Promise<number> {
    const [row] = await this.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${POSTINGS}`);
    return safeInteger(row?.n ?? "0", "a row count");
  }
}
