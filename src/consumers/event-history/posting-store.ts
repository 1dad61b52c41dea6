import Database from "better-sqlite3";
import type { TokenPosition } from "./next-token.js";

/**
 * The SQLite side of the Event history index: postings `(key, t, seq)` that point at journal seqs,
 * in one WITHOUT ROWID table per UTC day of eventTime (`posting_<epoch day>`, `t` = second of that
 * day). Day tables make retention a DROP TABLE instead of a full scan of a table with no time index,
 * keep the day being written small and cache-resident, and let `t` fit in 3 bytes. All postings of one
 * event share its eventTime, so AND-joins never cross tables. See docs/decisions/0003-event-history-index.md.
 */

const SECONDS_PER_DAY = 86_400;
const SCHEMA_VERSION = 1;
const TABLE_PATTERN = /^posting_(\d+)$/;

/** What one event contributes to the index. */
export interface PostingRow {
  readonly keys: readonly number[];
  readonly time: number;
  readonly seq: number;
}

export interface PruneResult {
  readonly partitionsDropped: number;
  readonly postingsDeleted: number;
}

function dayOf(time: number): number {
  return Math.floor(time / SECONDS_PER_DAY);
}

export class PostingStore {
  private readonly db: Database.Database;
  /** Committed day tables, newest first. */
  private days: number[] = [];
  private readonly statements = new Map<string, Database.Statement>();
  private readonly readCursor: Database.Statement<[], { value: number }>;
  private readonly writeCursor: Database.Statement<[number]>;

  constructor(path: string, cacheSizeKiB = 65_536) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    // FULL: handle() promises durability before it resolves (docs/specs/consumer.md), and the
    // journal may be trimmed up to our cursor.
    this.db.pragma("synchronous = FULL");
    this.db.pragma(`cache_size = -${cacheSizeKiB}`);
    this.db.exec(
      "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;" +
        `INSERT OR IGNORE INTO meta(name, value) VALUES ('schema_version', ${SCHEMA_VERSION}), ('cursor', 0);`,
    );
    const version = this.db.prepare("SELECT value FROM meta WHERE name = 'schema_version'").pluck().get();
    if (version !== SCHEMA_VERSION) {
      this.db.close();
      throw new Error(`Event history index ${path} has schema version ${String(version)}; rebuild it.`);
    }
    this.readCursor = this.db.prepare("SELECT value FROM meta WHERE name = 'cursor'");
    this.writeCursor = this.db.prepare("UPDATE meta SET value = max(value, ?) WHERE name = 'cursor'");
    this.loadDays();
  }

  private loadDays(): void {
    const names = this.db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name GLOB 'posting_[0-9]*'")
      .pluck()
      .all() as string[];
    this.days = names
      .map((name) => TABLE_PATTERN.exec(name))
      .filter((match) => match !== null)
      .map((match) => Number(match[1]))
      .sort((a, b) => b - a);
    this.statements.clear();
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
    const known = new Set(this.days);
    const transaction = this.db.transaction(() => {
      for (const row of rows) {
        const day = dayOf(row.time);
        if (!known.has(day)) {
          this.db.exec(
            `CREATE TABLE IF NOT EXISTS posting_${day}(key INTEGER, t INTEGER, seq INTEGER, PRIMARY KEY(key, t, seq)) WITHOUT ROWID`,
          );
          known.add(day);
          created.push(day);
        }
        const insert = this.statement(
          `insert/${day}`,
          () => `INSERT OR IGNORE INTO posting_${day}(key, t, seq) VALUES (?, ?, ?)`,
        );
        const t = row.time - day * SECONDS_PER_DAY;
        for (const key of row.keys) insert.run(key, t, row.seq);
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
  }

  /**
   * Positions of events having every key, newest first, strictly before `before`, not older than
   * `startTime`, at most `limit`. keys[0] drives the scan, so callers put the most selective first.
   */
  candidates(keys: readonly number[], startTime: number, before: TokenPosition, limit: number): TokenPosition[] {
    const out: TokenPosition[] = [];
    const firstDay = dayOf(startTime);
    for (const day of this.days) {
      if (day > dayOf(before.time)) continue;
      if (day < firstDay || out.length >= limit) break;
      const base = day * SECONDS_PER_DAY;
      const beforeT = day === dayOf(before.time) ? before.time - base : SECONDS_PER_DAY;
      const beforeSeq = day === dayOf(before.time) ? before.seq : 0;
      const fromT = Math.max(0, startTime - base);
      const select = this.statement(`select/${day}/${keys.length}`, () => selectSql(day, keys.length));
      // Parameters in textual order: the probed keys of the joins, then the driving key and the bounds.
      const parameters = [...keys.slice(1), keys[0], fromT, beforeT, beforeSeq, limit - out.length];
      const rows = select.raw().all(...parameters) as Array<[number, number]>;
      for (const [t, seq] of rows) out.push({ time: base + t, seq });
    }
    return out;
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

/** One driving posting scan, each further key checked by a primary-key probe (CROSS JOIN pins that order). */
function selectSql(day: number, keyCount: number): string {
  const table = `posting_${day}`;
  const joins: string[] = [];
  for (let i = 1; i < keyCount; i++) {
    joins.push(`CROSS JOIN ${table} AS p${i} ON p${i}.key = ? AND p${i}.t = p0.t AND p${i}.seq = p0.seq`);
  }
  return (
    `SELECT p0.t, p0.seq FROM ${table} AS p0 ${joins.join(" ")} ` +
    "WHERE p0.key = ? AND p0.t >= ? AND (p0.t, p0.seq) < (?, ?) ORDER BY p0.t DESC, p0.seq DESC LIMIT ?"
  );
}
