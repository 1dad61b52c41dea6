import type Database from "better-sqlite3";
import { openPrivateDatabase } from "../../lib/sqlite-database.js";
import type { PruneResult } from "./event-history.js";
import type { AllEventsTerm, CandidateScan, PostingRow } from "./lookup-pages.js";
import type { TokenPosition } from "./next-token.js";
import type { PostingLayout } from "./posting-key.js";

/**
 * The SQLite side of the Event history index: postings `(key, t, seq)` that point at journal seqs,
 * in one WITHOUT ROWID table per UTC day of eventTime (`posting_<epoch day>`, `t` = second of that
 * day). Day tables make retention a DROP TABLE instead of a full scan of a table with no time index,
 * keep the day being written small and cache-resident, and let `t` fit in 3 bytes. All postings of one
 * event share its eventTime, so AND-joins never cross tables. See docs/decisions/0003-event-history-index.md.
 *
 * `meta.schema_version` names the posting layout (posting-key.ts): 1 = wide, what indexes created
 * before decision 0027 hold and keep using; 2 = compact, for every index created since. A compact
 * index also stores `seq` relative to the first seq its day table received (`meta.seq_base/<day>`):
 * a day's seqs are close together (the journal is written in arrival order), so the difference takes
 * 2–3 bytes where a lifetime seq above 8,388,607 takes 4. Its all-events postings store
 * `(seq − base) × 4 + ReadOnly code` (posting-key.ts): the order of (t, seq) is unchanged.
 */

const SECONDS_PER_DAY = 86_400;
const SCHEMA_VERSION = 2;
const LAYOUTS = new Map<unknown, PostingLayout>([
  [1, "wide"],
  [2, "compact"],
]);
/**
 * The WAL is cut back to this after a checkpoint; SQLite's default keeps it at the largest size a
 * commit ever made it (a 4,000-event batch of random postings writes tens of MB of pages).
 */
const WAL_BYTES_KEPT = 4 << 20;
const TABLE_PATTERN = /^posting_(\d+)$/;
const SEQ_BASE_PREFIX = "seq_base/";
/** All-events postings (compact layout) store seq × READ_ONLY_CODES + the event's ReadOnly code. */
const READ_ONLY_CODES = 4;

/** Postings per multi-row INSERT. */
const INSERT_ROWS = 200;

/** Driver rows per AND statement: small enough to stop near the cap, large enough to amortise the call. */
const AND_CHUNK_ROWS = 1_024;

interface DayScan {
  readonly day: number;
  readonly from: { readonly t: number; readonly beforeT: number };
  /** Journal seq of the exclusive bound (with from.beforeT). */
  readonly beforeSeq: number;
  readonly limit: number;
  readonly scanRowsMax: number;
}

interface MutableScan {
  positions: TokenPosition[];
  scannedRows: number;
  resumeBefore?: TokenPosition;
}

function dayOf(time: number): number {
  return Math.floor(time / SECONDS_PER_DAY);
}

export class PostingStore {
  private readonly db: Database.Database;
  /** Committed day tables, newest first. */
  private days: number[] = [];
  /** Per day table, what its stored seqs are relative to; absent = 0 (wide indexes, decision 0027). */
  private seqBases = new Map<number, number>();
  private readonly statements = new Map<string, Database.Statement>();
  private readonly readCursor: Database.Statement<[], { value: number }>;
  private readonly writeCursor: Database.Statement<[number]>;
  private readonly readSchemaVersion: Database.Statement<[], number>;
  /** `PRAGMA schema_version` when `days` was loaded: another connection (the indexing worker) may add or drop day tables. */
  private daysSchemaVersion = -1;
  readonly layout: PostingLayout;

  constructor(path: string, cacheSizeKiB = 65_536) {
    this.db = openPrivateDatabase(path);
    this.db.pragma("journal_mode = WAL");
    // FULL: handle() promises durability before it resolves (docs/specs/consumer.md), and the
    // journal may be trimmed up to our cursor.
    this.db.pragma("synchronous = FULL");
    this.db.pragma(`cache_size = -${cacheSizeKiB}`);
    this.db.pragma(`journal_size_limit = ${WAL_BYTES_KEPT}`);
    this.db.exec(
      "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;" +
        `INSERT OR IGNORE INTO meta(name, value) VALUES ('schema_version', ${SCHEMA_VERSION}), ('cursor', 0);`,
    );
    const version = this.db.prepare("SELECT value FROM meta WHERE name = 'schema_version'").pluck().get();
    const layout = LAYOUTS.get(version);
    if (layout === undefined) {
      this.db.close();
      throw new Error(`Event history index ${path} has schema version ${String(version)}; rebuild it.`);
    }
    this.layout = layout;
    this.readCursor = this.db.prepare("SELECT value FROM meta WHERE name = 'cursor'");
    this.writeCursor = this.db.prepare("UPDATE meta SET value = max(value, ?) WHERE name = 'cursor'");
    this.readSchemaVersion = this.db.prepare<[], number>("PRAGMA schema_version").pluck();
    this.loadDays();
  }

  /** The day tables and their seq bases, read in one transaction: the worker adds both in one commit. */
  private loadDays(): void {
    this.db.transaction(() => {
      this.daysSchemaVersion = this.readSchemaVersion.get() ?? -1;
      const names = this.db
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name GLOB 'posting_[0-9]*'")
        .pluck()
        .all() as string[];
      this.days = names
        .map((name) => TABLE_PATTERN.exec(name))
        .filter((match) => match !== null)
        .map((match) => Number(match[1]))
        .sort((a, b) => b - a);
      const bases = this.db
        .prepare(`SELECT name, value FROM meta WHERE name GLOB '${SEQ_BASE_PREFIX}*'`)
        .raw()
        .all() as Array<[string, number]>;
      this.seqBases = new Map(bases.map(([name, value]) => [Number(name.slice(SEQ_BASE_PREFIX.length)), value]));
    })();
    this.statements.clear();
  }

  private seqBase(day: number): number {
    return this.seqBases.get(day) ?? 0;
  }

  cursor(): number {
    return this.readCursor.get()?.value ?? 0;
  }

  private statement(id: string, sql: () => string): Database.Statement {
    let statement = this.statements.get(id);
    if (statement === undefined) {
      statement = this.db.prepare(sql());
      this.statements.set(id, statement);
    }
    return statement;
  }

  /** Inserts the postings and advances the cursor in one transaction: both become durable, or neither. */
  apply(rows: readonly PostingRow[], cursor: number): void {
    const created: number[] = [];
    const createdBases = new Map<number, number>();
    const known = new Set(this.days);
    const transaction = this.db.transaction(() => {
      // Postings are buffered per day and written with multi-row INSERTs (INSERT_ROWS per call).
      const buffered = new Map<number, number[]>();
      const write = (day: number, parameters: number[], rowCount: number): void => {
        const insert = this.statement(
          `insert/${day}/${rowCount}`,
          () =>
            `INSERT OR IGNORE INTO posting_${day}(key, t, seq) VALUES ${Array(rowCount).fill("(?, ?, ?)").join(", ")}`,
        );
        insert.run(parameters);
      };
      for (const row of rows) {
        const day = dayOf(row.time);
        if (!known.has(day)) {
          this.db.exec(
            `CREATE TABLE IF NOT EXISTS posting_${day}(key INTEGER, t INTEGER, seq INTEGER, PRIMARY KEY(key, t, seq)) WITHOUT ROWID`,
          );
          known.add(day);
          created.push(day);
          if (this.layout === "compact") {
            // Rows come in seq order, so this is the table's lowest seq (a lower one would only be negative).
            this.db
              .prepare("INSERT OR REPLACE INTO meta(name, value) VALUES (?, ?)")
              .run(SEQ_BASE_PREFIX + day, row.seq);
            createdBases.set(day, row.seq);
          }
        }
        let parameters = buffered.get(day);
        if (parameters === undefined) {
          parameters = [];
          buffered.set(day, parameters);
        }
        const t = row.time - day * SECONDS_PER_DAY;
        const seq = row.seq - (createdBases.get(day) ?? this.seqBase(day));
        const push = (key: number, storedSeq: number): void => {
          parameters.push(key, t, storedSeq);
          if (parameters.length === 3 * INSERT_ROWS) {
            write(day, parameters, INSERT_ROWS);
            parameters.length = 0;
          }
        };
        for (const key of row.keys) push(key, seq);
        if (row.allEvents !== undefined) push(row.allEvents.key, seq * READ_ONLY_CODES + row.allEvents.readOnly);
      }
      for (const [day, parameters] of buffered) {
        for (let at = 0; at < parameters.length; at += 3) write(day, parameters.slice(at, at + 3), 1);
      }
      this.writeCursor.run(cursor);
    });
    try {
      transaction();
    } catch (error) {
      // The CREATE TABLEs rolled back with everything else: forget statements prepared against them.
      if (created.length > 0) this.loadDays();
      throw error;
    }
    if (created.length > 0) this.days = [...new Set([...this.days, ...created])].sort((a, b) => b - a);
    for (const [day, base] of createdBases) this.seqBases.set(day, base);
  }

  /**
   * Positions of events having every key, newest first, strictly before `before`, not older than
   * `startTime`, at most `limit`. keys[0] drives the scan, so callers put the most selective first.
   * An AND of two common values can match rarely (EventSource=kms AND ReadOnly=false: 0 of 800k
   * postings at 10M, 1 s to prove), so the driver rows examined are capped at `scanRowsMax`; when the
   * cap is hit the scan stops and reports where, and the caller pages from there. `allEvents` (compact
   * layout) drives the scan when `keys` is empty, and is probed as ReadOnly=true otherwise.
   */
  candidates(
    keys: readonly number[],
    startTime: number,
    before: TokenPosition,
    limit: number,
    scanRowsMax: number,
    allEvents?: AllEventsTerm,
  ): CandidateScan {
    if (this.readSchemaVersion.get() !== this.daysSchemaVersion) this.loadDays();
    const scan: MutableScan = { positions: [], scannedRows: 0 };
    const firstDay = dayOf(startTime);
    for (const day of this.days) {
      if (day > dayOf(before.time)) continue;
      if (day < firstDay || scan.positions.length >= limit) break;
      const base = day * SECONDS_PER_DAY;
      const inFirstDay = day === dayOf(before.time);
      const from = { t: Math.max(0, startTime - base), beforeT: inFirstDay ? before.time - base : SECONDS_PER_DAY };
      // Outside the first day beforeT is the day's end, so the bound's seq never decides (t < 86,400).
      const dayScan: DayScan = { day, from, beforeSeq: inFirstDay ? before.seq : 0, limit, scanRowsMax };
      if (keys.length === 0 && allEvents?.readOnly === undefined) {
        // The no-filter query: every row is a result, no cap needed.
        this.scanAllOfKey(scan, dayScan, allEvents!.key, true);
      } else if (keys.length === 1 && allEvents === undefined) {
        this.scanAllOfKey(scan, dayScan, keys[0]!, false);
      } else if (!this.scanCapped(scan, dayScan, keys, allEvents)) {
        break;
      }
    }
    return scan;
  }

  /** Stored seq of a journal seq in a day table (all-events postings: the lowest of the seq's codes). */
  private storedSeq(day: number, seq: number, allEvents: boolean): number {
    const relative = Math.min(seq, Number.MAX_SAFE_INTEGER / READ_ONLY_CODES) - this.seqBase(day);
    return allEvents ? relative * READ_ONLY_CODES : relative;
  }

  private journalSeq(day: number, storedSeq: number, allEvents: boolean): number {
    return this.seqBase(day) + (allEvents ? Math.floor(storedSeq / READ_ONLY_CODES) : storedSeq);
  }

  /** Every posting of one key in one day: each is a result. */
  private scanAllOfKey(scan: MutableScan, dayScan: DayScan, key: number, allEvents: boolean): void {
    const { day, from, beforeSeq, limit } = dayScan;
    const base = day * SECONDS_PER_DAY;
    const select = this.statement(`select/${day}`, () => singleKeySql(day));
    const bound = this.storedSeq(day, beforeSeq, allEvents);
    const rows = select.raw().all(key, from.t, from.beforeT, bound, limit - scan.positions.length);
    for (const [t, seq] of rows as Array<[number, number]>)
      scan.positions.push({ time: base + t, seq: this.journalSeq(day, seq, allEvents) });
    scan.scannedRows += rows.length;
  }

  /**
   * One day of an AND, or of ReadOnly=true alone (the all-events postings with code 1), in chunks of
   * driver rows; false when the scan must stop (cap reached).
   */
  private scanCapped(
    scan: MutableScan,
    dayScan: DayScan,
    keys: readonly number[],
    allEvents: AllEventsTerm | undefined,
  ): boolean {
    const { day, from, limit, scanRowsMax } = dayScan;
    const base = day * SECONDS_PER_DAY;
    const drivenByAllEvents = keys.length === 0;
    const select = drivenByAllEvents
      ? this.statement(`readOnly/${day}`, () => readOnlySql(day))
      : this.statement(`and/${day}/${keys.length}/${allEvents === undefined ? 0 : 1}`, () =>
          andSql(day, keys.length, allEvents !== undefined),
        );
    // Parameters in textual order: the probes (or the code the driver's rows are checked for), then
    // the driving key and the bounds.
    const probes = drivenByAllEvents
      ? [allEvents!.readOnly]
      : [...keys.slice(1), ...(allEvents === undefined ? [] : [allEvents.key, allEvents.readOnly])];
    const driver = drivenByAllEvents ? allEvents!.key : keys[0]!;
    // (t, seq) as the journal knows it; the statement gets the seq as stored.
    let cursor: [number, number] = [from.beforeT, dayScan.beforeSeq];
    // ReadOnly=true matches most rows where reads dominate: start with a chunk of about what the page
    // still needs, not AND_CHUNK_ROWS (reading 1,024 rows for ~65 doubled the page's CPU), and grow it.
    let chunkRows = drivenByAllEvents ? 2 * (limit - scan.positions.length) + 16 : AND_CHUNK_ROWS;
    for (;;) {
      const chunk = Math.min(chunkRows, scanRowsMax - scan.scannedRows);
      chunkRows = Math.min(AND_CHUNK_ROWS, 4 * chunkRows);
      if (chunk <= 0) {
        scan.resumeBefore = { time: base + cursor[0], seq: cursor[1] };
        return false;
      }
      const bound = this.storedSeq(day, cursor[1], drivenByAllEvents);
      const rows = select.raw().all(...probes, driver, from.t, cursor[0], bound, chunk) as Array<
        [number, number, number]
      >;
      for (const [t, storedSeq, hit] of rows) {
        const seq = this.journalSeq(day, storedSeq, drivenByAllEvents);
        scan.scannedRows++;
        cursor = [t, seq];
        if (hit !== 1) continue;
        scan.positions.push({ time: base + t, seq });
        if (scan.positions.length >= limit) return false;
      }
      if (rows.length < chunk) return true;
    }
  }

  /** Deletes every posting with eventTime < cutoffTime: whole day tables are dropped, the boundary day is trimmed. */
  prune(cutoffTime: number): PruneResult {
    const cutoffDay = dayOf(cutoffTime);
    let partitionsDropped = 0;
    let postingsDeleted = 0;
    this.db.transaction(() => {
      for (const day of this.days) {
        if (day > cutoffDay) continue;
        if (day === cutoffDay) {
          const trim = this.db.prepare(`DELETE FROM posting_${day} WHERE t < ?`);
          postingsDeleted += trim.run(cutoffTime - day * SECONDS_PER_DAY).changes;
          continue;
        }
        postingsDeleted += this.db.prepare(`SELECT count(*) FROM posting_${day}`).pluck().get() as number;
        this.db.exec(`DROP TABLE posting_${day}`);
        this.db.prepare("DELETE FROM meta WHERE name = ?").run(SEQ_BASE_PREFIX + day);
        partitionsDropped++;
      }
    })();
    if (partitionsDropped > 0) this.loadDays();
    return { partitionsDropped, postingsDeleted };
  }

  /** Total postings (a full scan: for tests and benchmarks). */
  countPostings(): number {
    let total = 0;
    for (const day of this.days)
      total += this.db.prepare(`SELECT count(*) FROM posting_${day}`).pluck().get() as number;
    return total;
  }

  /** Bytes of the database file after a checkpoint (freelist pages included: they are still on disk). */
  sizeBytes(): number {
    this.db.pragma("wal_checkpoint(TRUNCATE)");
    const pages = this.db.pragma("page_count", { simple: true }) as number;
    const pageSize = this.db.pragma("page_size", { simple: true }) as number;
    return pages * pageSize;
  }

  close(): void {
    this.statements.clear();
    this.db.close();
  }
}

function singleKeySql(day: number): string {
  return (
    `SELECT t, seq FROM posting_${day} WHERE key = ? AND t >= ? AND (t, seq) < (?, ?) ` +
    "ORDER BY t DESC, seq DESC LIMIT ?"
  );
}

/** A chunk of all-events postings (compact layout), each flagged with whether its ReadOnly code is the one asked. */
function readOnlySql(day: number): string {
  return (
    `SELECT t, seq, seq % ${READ_ONLY_CODES} = ? AS hit FROM posting_${day} WHERE key = ? AND t >= ? AND (t, seq) < (?, ?) ` +
    "ORDER BY t DESC, seq DESC LIMIT ?"
  );
}

/**
 * A chunk of driver rows, each flagged with whether every other key has the same (t, seq): primary-key
 * probes. With `readOnlyProbe`, also the all-events posting with a given ReadOnly code (compact layout).
 */
function andSql(day: number, keyCount: number, readOnlyProbe: boolean): string {
  const table = `posting_${day}`;
  const probes: string[] = [];
  for (let i = 1; i < keyCount; i++) {
    probes.push(`EXISTS (SELECT 1 FROM ${table} AS p${i} WHERE p${i}.key = ? AND p${i}.t = d.t AND p${i}.seq = d.seq)`);
  }
  if (readOnlyProbe) {
    probes.push(
      `EXISTS (SELECT 1 FROM ${table} AS r WHERE r.key = ? AND r.t = d.t AND r.seq = d.seq * ${READ_ONLY_CODES} + ?)`,
    );
  }
  return (
    `SELECT d.t, d.seq, ${probes.join(" AND ")} AS hit FROM ` +
    `(SELECT t, seq FROM ${table} WHERE key = ? AND t >= ? AND (t, seq) < (?, ?) ORDER BY t DESC, seq DESC LIMIT ?) AS d ` +
    "ORDER BY d.t DESC, d.seq DESC"
  );
}
