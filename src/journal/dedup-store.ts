import { createHash } from "node:crypto";
import Database from "better-sqlite3";
import { KEY_HASH_BYTES } from "./block-format.js";

/**
 * The set of dedup-key hashes present in the journal (docs/decisions/0002-dedup-key.md). SQLite holds
 * the keys of entries up to its cursor; `pending` holds keys of durable entries after the cursor, so
 * SQLite work is batched. SQLite runs with synchronous=NORMAL: it is derived data, and whatever it
 * loses in a crash lies after its cursor and is replayed from the journal on open.
 */
export function hashDedupKey(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest().subarray(0, KEY_HASH_BYTES);
}

/** Map key for a hash: a 16-char latin1 string is cheaper than hex and compares exactly. */
function hashId(hash: Buffer): string {
  return hash.toString("latin1");
}

export class DedupStore {
  private readonly pending = new Map<string, { hash: Buffer; seq: number }>();
  private readonly selectHash: Database.Statement<[Buffer], number>;
  private readonly insertHash: Database.Statement<[Buffer, number]>;
  private readonly deleteHash: Database.Statement<[Buffer]>;
  private readonly updateCursor: Database.Statement<[number]>;
  private cursor: number;

  private constructor(private readonly db: Database.Database) {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("cache_size = -16384");
    db.exec(
      "CREATE TABLE IF NOT EXISTS dedup_key (hash BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;" +
        "CREATE TABLE IF NOT EXISTS dedup_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);" +
        "INSERT OR IGNORE INTO dedup_cursor (id, seq) VALUES (1, 0);",
    );
    this.selectHash = db.prepare<[Buffer], number>("SELECT 1 FROM dedup_key WHERE hash = ?").pluck();
    this.insertHash = db.prepare("INSERT OR IGNORE INTO dedup_key (hash, seq) VALUES (?, ?)");
    this.deleteHash = db.prepare("DELETE FROM dedup_key WHERE hash = ?");
    this.updateCursor = db.prepare("UPDATE dedup_cursor SET seq = ? WHERE id = 1");
    this.cursor = db.prepare<[], number>("SELECT seq FROM dedup_cursor WHERE id = 1").pluck().get() ?? 0;
  }

  static open(path: string): DedupStore {
    return new DedupStore(new Database(path));
  }

  /** Highest seq whose key (if any) is in SQLite. */
  cursorSeq(): number {
    return this.cursor;
  }

  pendingCount(): number {
    return this.pending.size;
  }

  has(hash: Buffer): boolean {
    return this.pending.has(hashId(hash)) || this.selectHash.get(hash) !== undefined;
  }

  /** Records the key of a durable entry. */
  addDurable(hash: Buffer, seq: number): void {
    this.pending.set(hashId(hash), { hash, seq });
  }

  /** Moves pending keys to SQLite and advances the cursor to `durableSeq`, in one transaction. */
  flush(durableSeq: number): void {
    const run = this.db.transaction(() => {
      for (const { hash, seq } of this.pending.values()) this.insertHash.run(hash, seq);
      this.updateCursor.run(durableSeq);
    });
    run();
    this.pending.clear();
    this.cursor = durableSeq;
  }

  /**
   * Forgets keys of entries after `headSeq`. Only needed when the journal lost acknowledged data
   * (a disk or filesystem that ignored fsync, or a restored backup): the keys would otherwise
   * reject re-sent records that are no longer stored. A full scan, on a path that should never run.
   */
  rollBackTo(headSeq: number): void {
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM dedup_key WHERE seq > ?").run(headSeq);
      this.updateCursor.run(headSeq);
    })();
    this.cursor = headSeq;
  }

  /** Retention: forgets keys of deleted entries. Call flush() first so none are pending. */
  deleteHashes(hashes: readonly Buffer[]): void {
    this.db.transaction(() => {
      for (const hash of hashes) this.deleteHash.run(hash);
    })();
  }

  close(): void {
    this.db.close();
  }
}
