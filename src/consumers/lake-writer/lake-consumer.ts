/**
 * The journal consumer that fills event data stores. Records are buffered in memory and flushed
 * every second (or when the buffer is large) as one Parquet file per (store, event date), named by
 * the journal seq range. The durable cursor moves only in the lake.db transaction that records the
 * files, so after a crash the buffer is rebuilt from the journal; files written but not recorded are
 * deleted at start (lake-recovery.ts). handle() therefore resolves before its output is durable:
 * the buffer is the "small row buffer" of the Lake design, and the cursor the runner keeps in
 * memory is only a read position.
 */
import { rm } from "node:fs/promises";
import { entryRecord, type JournalEntry } from "../../journal/journal.js";
import type { Consumer } from "../consumer.js";
import { dedupKeyOf } from "../../normalize/pipeline.js";
import type { DuckDBInstance } from "@duckdb/node-api";
import { keyHash, type CommittedFile, type LakeDb } from "../../lake/catalog/lake-db.js";
import { eventDateOf, recordToRow } from "../../lake/engine/lake-schema.js";
import { writeParquet } from "../../lake/engine/parquet-writer.js";
import type { StoreRouter } from "./store-router.js";

const FLUSH_ROWS = 50_000;

interface Pending {
  readonly edsId: string;
  readonly eventDate: string;
  readonly rows: Record<string, unknown>[];
  readonly keys: Buffer[];
}

export class LakeConsumer implements Consumer {
  readonly name = "lake";
  private pending = new Map<string, Pending>();
  private pendingKeys = new Set<string>();
  private pendingRows = 0;
  private firstSeq = 0;
  private lastSeq = 0;
  private committedSeq = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly deps: { db: LakeDb; duck: DuckDBInstance; router: StoreRouter; lakeDir: string }) {}

  async loadCursor(): Promise<number> {
    this.committedSeq = this.deps.db.cursor();
    this.lastSeq = this.committedSeq;
    return this.committedSeq;
  }

  /** Highest seq whose records are in committed Parquet files (journal retention must keep the rest). */
  durableSeq(): number {
    return this.committedSeq;
  }

  async handle(batch: readonly JournalEntry[]): Promise<void> {
    for (const entry of batch) {
      if (entry.seq <= this.lastSeq) continue;
      const record = entryRecord(entry);
      const stores = this.deps.router.liveStoresFor(record, entry.seq);
      if (stores.length > 0) {
        const key = keyHash(dedupKeyOf(record));
        for (const store of stores) this.add(store.id, record, entry.json, key);
      }
      if (this.firstSeq === 0) this.firstSeq = entry.seq;
      this.lastSeq = entry.seq;
    }
    if (this.pendingRows >= FLUSH_ROWS) await this.flush();
  }

  private add(edsId: string, record: ReturnType<typeof entryRecord>, json: string, key: Buffer): void {
    const seen = `${edsId}:${key.toString("hex")}`;
    if (this.pendingKeys.has(seen) || this.deps.db.hasKey(edsId, key)) return;
    this.pendingKeys.add(seen);
    const eventDate = eventDateOf(record);
    const slot = `${edsId}/${eventDate}`;
    let pending = this.pending.get(slot);
    if (!pending) this.pending.set(slot, (pending = { edsId, eventDate, rows: [], keys: [] }));
    pending.rows.push(recordToRow(record, json));
    pending.keys.push(key);
    this.pendingRows++;
  }

  /** Writes the buffer as Parquet and commits files + cursor. Serialised: timer and handle() share it. */
  flush(): Promise<void> {
    this.chain = this.chain.then(() => this.flushNow());
    return this.chain;
  }

  private async flushNow(): Promise<void> {
    if (this.lastSeq <= this.committedSeq) return;
    const batches = [...this.pending.values()];
    const [from, to] = [this.firstSeq, this.lastSeq];
    this.pending = new Map();
    this.pendingKeys = new Set();
    this.pendingRows = 0;
    this.firstSeq = 0;
    const files: CommittedFile[] = [];
    try {
      for (const batch of batches) {
        const name = `live-${String(from).padStart(12, "0")}-${String(to).padStart(12, "0")}`;
        const target = { lakeDir: this.deps.lakeDir, edsId: batch.edsId, eventDate: batch.eventDate, name };
        const path = await writeParquet(this.deps.duck, target, batch.rows);
        files.push({ path, edsId: batch.edsId, rows: batch.rows.length, keys: batch.keys });
      }
      this.deps.db.commitFiles(files, to);
      this.committedSeq = to;
    } catch (error) {
      // Remove what this attempt wrote (its name range may differ next time), keep the records for the retry.
      await Promise.all(files.map((file) => rm(file.path, { force: true })));
      for (const batch of batches) this.pending.set(`${batch.edsId}/${batch.eventDate}`, batch);
      this.firstSeq = from;
      throw error;
    }
  }
}
