import * as crypto from "node:crypto";
import type Database from "better-sqlite3";
import { openPrivateDatabase } from "../lib/sqlite-database.js";
import { KEY_HASH_BYTES } from "./block-format.js";

/**
 * The set of dedup-key hashes present in the journal (docs/decisions/0002-dedup-key.md). SQLite holds
 * the keys of entries up to its cursor; `pending` holds keys of durable entries after the cursor, so
 * SQLite work is batched. SQLite runs with synchronous=NORMAL: it is derived data, and whatever it
 * loses in a crash lies after its cursor and is replayed from the journal on open.
 */
export function hashDedupKey(key: string): Buffer {
  // crypto.hash (Node ≥ 20.12) is one call instead of a Hash object per key: ~3× cheaper on the hot path.
  if (oneShotHash !== undefined) return oneShotHash("sha256", key, "buffer").subarray(0, KEY_HASH_BYTES);
  return crypto.createHash("sha256").update(key, "utf8").digest().subarray(0, KEY_HASH_BYTES);
}

const oneShotHash = (crypto as Partial<Pick<typeof crypto, "hash">>).hash;

/** Keys per multi-row INSERT when flushing. */
const INSERT_ROWS = 256;

/** Keys the Bloom filter is sized for at least; ~2 MiB of bits. */
const BLOOM_CAPACITY_MIN = 1 << 20;
const BLOOM_BITS_PER_KEY = 10;
const BLOOM_PROBES = 7;

/**
 * A Bloom filter over the 128-bit key hashes (already uniformly random, so their bytes are the
 * probe hashes). "No" is certain, so a fresh key, the common case, skips SQLite; "maybe" (≤ 1 % when
 * within capacity) falls through to the exact check. Keys deleted from SQLite (retention, roll-back)
 * stay in the filter as false positives until the store is opened again.
 */
class KeyBloom {
  private readonly words: Uint32Array;
  private readonly mask: number;
  added = 0;

  constructor(readonly capacity: number) {
    let bits = 1 << 20;
    while (bits < capacity * BLOOM_BITS_PER_KEY && bits < 2 ** 32) bits *= 2;
    this.words = new Uint32Array(bits / 32);
    this.mask = bits - 1;
  }

  add(hash: Buffer): void {
    const h1 = hash.readUInt32LE(0);
    const h2 = hash.readUInt32LE(4) | 1;
    for (let i = 0; i < BLOOM_PROBES; i++) {
      const bit = ((h1 + Math.imul(i, h2)) & this.mask) >>> 0;
      this.words[bit >>> 5]! |= 1 << (bit & 31);
    }
    this.added++;
  }

  mayHave(hash: Buffer): boolean {
    const h1 = hash.readUInt32LE(0);
    const h2 = hash.readUInt32LE(4) | 1;
    for (let i = 0; i < BLOOM_PROBES; i++) {
      const bit = ((h1 + Math.imul(i, h2)) & this.mask) >>> 0;
      if ((this.words[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/** Map key for a hash: a 16-char latin1 string is cheaper than hex and compares exactly. */
function hashId(hash: Buffer): string {
  return hash.toString("latin1");
}

export class DedupStore {
  private readonly pending = new Map<string, { hash: Buffer; seq: number }>();
  private readonly selectHash: Database.Statement<[Buffer], number>;
  private readonly insertHash: Database.Statement<[Buffer, number]>;
  private readonly insertHashes: Database.Statement<unknown[]>;
  private readonly deleteHash: Database.Statement<[Buffer]>;
  private readonly updateCursor: Database.Statement<[number]>;
  private cursor: number;
  /**
   * Bloom filters that together hold every key in SQLite or pending (never a false "no"). New keys go
   * to the last; when it is full a twice larger one is added, so growing never rescans SQLite
   * (a scalable Bloom filter: the false-positive rates of the layers add up, ~1 % each).
   */
  private readonly blooms: KeyBloom[];

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
    this.insertHashes = db.prepare(
      `INSERT OR IGNORE INTO dedup_key (hash, seq) VALUES ${Array(INSERT_ROWS).fill("(?, ?)").join(", ")}`,
    );
    this.deleteHash = db.prepare("DELETE FROM dedup_key WHERE hash = ?");
    this.updateCursor = db.prepare("UPDATE dedup_cursor SET seq = ? WHERE id = 1");
    this.cursor = db.prepare<[], number>("SELECT seq FROM dedup_cursor WHERE id = 1").pluck().get() ?? 0;
    this.blooms = [this.loadBloom()];
  }

  /** A filter of every stored key, sized for twice as many: a scan of the key table, on open only. */
  private loadBloom(): KeyBloom {
    const stored = this.db.prepare<[], number>("SELECT count(*) FROM dedup_key").pluck().get() ?? 0;
    const bloom = new KeyBloom(Math.max(BLOOM_CAPACITY_MIN, 2 * stored));
    const all = this.db.prepare<[], Buffer>("SELECT hash FROM dedup_key").pluck();
    for (const hash of all.iterate()) bloom.add(hash);
    return bloom;
  }

  private mayHave(hash: Buffer): boolean {
    for (const bloom of this.blooms) if (bloom.mayHave(hash)) return true;
    return false;
  }

  static open(path: string): DedupStore {
    return new DedupStore(openPrivateDatabase(path));
  }

  /** Highest seq whose key (if any) is in SQLite. */
  cursorSeq(): number {
    return this.cursor;
  }

  pendingCount(): number {
    return this.pending.size;
  }

  has(hash: Buffer): boolean {
    if (!this.mayHave(hash)) return false;
    return this.pending.has(hashId(hash)) || this.selectHash.get(hash) !== undefined;
  }

  /** Records the key of a durable entry. */
  addDurable(hash: Buffer, seq: number): void {
    this.pending.set(hashId(hash), { hash, seq });
    let last = this.blooms.at(-1)!;
    if (last.added >= last.capacity) {
      last = new KeyBloom(2 * last.capacity);
      this.blooms.push(last);
    }
    last.add(hash);
  }

  /** Moves pending keys to SQLite and advances the cursor to `durableSeq`, in one transaction. */
  flush(durableSeq: number): void {
    const run = this.db.transaction(() => {
      // Multi-row INSERTs: one statement call per INSERT_ROWS keys instead of one per key.
      const parameters: Array<Buffer | number> = [];
      for (const { hash, seq } of this.pending.values()) {
        parameters.push(hash, seq);
        if (parameters.length === 2 * INSERT_ROWS) {
          this.insertHashes.run(parameters);
          parameters.length = 0;
        }
      }
      for (let i = 0; i < parameters.length; i += 2)
        this.insertHash.run(parameters[i] as Buffer, parameters[i + 1] as number);
      this.updateCursor.run(durableSeq);
    });
    run();
    // A flush writes most of the key table's pages (random keys), and SQLite keeps the WAL file at
    // the largest size a commit made it: ~27 B per stored key at 1M, on disk for good. The automatic
    // checkpoint at the commit has usually copied the pages back already; this also cuts the file (decision 0027).
    this.db.pragma("wal_checkpoint(TRUNCATE)");
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

  /**
   * Retention elsewhere (a JetStream journal's key index learns of a purge only from the stream's
   * first seq): forgets the keys of entries below `seq`. A scan of the key table; runs once per purge.
   */
  deleteBelow(seq: number): void {
    this.flush(this.cursor);
    this.db.prepare("DELETE FROM dedup_key WHERE seq < ?").run(seq);
  }

  close(): void {
    this.db.close();
  }
}
