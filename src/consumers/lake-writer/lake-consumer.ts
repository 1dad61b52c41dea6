/**
 * The journal consumer that fills event data stores. Records are buffered in memory and flushed
 * every second (or when the buffer is large) as one Parquet file per (store, event date), named by
 * the journal seq range. The durable cursor moves only in the catalog transaction that records the
 * files, so after a crash the buffer is rebuilt from the journal; files written but not recorded are
 * deleted at start (lake-recovery.ts). handle() therefore resolves before its output is durable:
 * the buffer is the "small row buffer" of the Lake design, and the cursor the runner keeps in
 * memory is only a read position. A row DuckDB refuses while it writes the others (a timestamp it
 * cannot read) is quarantined, not retried forever (docs/specs/consumer.md, "Quarantine").
 */
import { rm } from "node:fs/promises";
import { entryRecord, type JournalEntry } from "../../journal/journal.js";
import type { CloudTrailRecord } from "../../model/record.js";
import type { Consumer } from "../consumer.js";
import type { RecordQuarantine } from "../quarantine.js";
import { dedupKeyOf } from "../../normalize/pipeline.js";
import type { DuckDBInstance } from "@duckdb/node-api";
import { keyHash, type CommittedFile, type EventDataStore, type LakeCatalog } from "../../lake/catalog/index.js";
import { eventDateOf, recordToRow } from "../../lake/engine/lake-schema.js";
import { checkParquetWritable, writeParquet } from "../../lake/engine/parquet-writer.js";
import { writeIsolatingRefusals } from "../../lib/isolate-refusals.js";
import { TransientError } from "../../lib/transient-error.js";
import type { StoreRouter } from "./store-router.js";

const FLUSH_ROWS = 50_000;

interface Pending {
  readonly edsId: string;
  readonly eventDate: string;
  readonly rows: Record<string, unknown>[];
  readonly keys: Buffer[];
  /** The journal seq of each row, to quarantine a row DuckDB refuses. */
  readonly seqs: number[];
}

export interface LakeConsumerDeps {
  readonly catalog: LakeCatalog;
  readonly duck: DuckDBInstance;
  readonly router: StoreRouter;
  readonly lakeDir: string;
  /** Where rows DuckDB refuses go; without it a refused row fails every flush (and is retried). */
  readonly quarantine?: RecordQuarantine;
  /** Storage injection for fault tests. */
  readonly writeParquet?: typeof writeParquet;
}

/** A new journal entry with the stores that take its record (none: the entry only moves the cursor). */
interface Routed {
  readonly entry: JournalEntry;
  /** Absent when no store could take the entry (StoreRouter.mayTake): it was not parsed. */
  readonly record: CloudTrailRecord | undefined;
  readonly stores: readonly EventDataStore[];
  readonly key: Buffer;
  readonly hex: string;
}

export class LakeConsumer implements Consumer {
  readonly name = "lake";
  private pending = new Map<string, Pending>();
  /** `<store>:<key hex>` of the buffered records. */
  private pendingKeys = new Set<string>();
  /** The keys of the flush in progress: neither buffered nor in the catalog until it commits. */
  private flushingKeys = new Set<string>();
  /** Commits so far: a key lookup that overlapped one is asked again. */
  private commits = 0;
  private pendingRows = 0;
  private firstSeq = 0;
  private lastSeq = 0;
  private committedSeq = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly deps: LakeConsumerDeps) {}

  async loadCursor(): Promise<number> {
    this.committedSeq = await this.deps.catalog.cursor();
    this.lastSeq = this.committedSeq;
    return this.committedSeq;
  }

  /** Highest seq whose records are in committed Parquet files (journal retention must keep the rest). */
  durableSeq(): number {
    return this.committedSeq;
  }

  /**
   * Highest seq up to which nothing waits here: buffered records wait for their flush; with an empty
   * buffer, `readSeq` (the runner's position, past records it quarantined) counts too.
   */
  progressSeq(readSeq: number): number {
    if (this.lastSeq > this.committedSeq) return this.firstSeq > 0 ? this.firstSeq - 1 : this.committedSeq;
    return Math.max(this.committedSeq, readSeq);
  }

  /**
   * Routes the batch, asks the catalog which keys its stores already hold (one call per store), then
   * buffers the new records without awaiting in between, so a flush sees whole batches only.
   */
  async handle(batch: readonly JournalEntry[]): Promise<void> {
    const routed = this.route(batch);
    const stored = await this.storedKeys(routed);
    for (const { entry, record, stores, key, hex } of routed) {
      if (record !== undefined) for (const store of stores) this.add(store.id, entry, record, key, hex, stored);
      if (this.firstSeq === 0) this.firstSeq = entry.seq;
      this.lastSeq = entry.seq;
    }
    // A flush refuses no record (it quarantines those DuckDB refuses), so its failure is the store's.
    if (this.pendingRows >= FLUSH_ROWS)
      await this.flush().catch((error: unknown) => {
        throw new TransientError(`The Lake buffer is full and cannot be written: ${String(error)}`, { cause: error });
      });
  }

  /** handle() writes only to memory; the store's failures come from flush(), as TransientError. */
  async probe(): Promise<void> {}

  private route(batch: readonly JournalEntry[]): Routed[] {
    const routed: Routed[] = [];
    const none = Buffer.alloc(0);
    for (const entry of batch) {
      if (entry.seq <= this.lastSeq) continue;
      if (!this.deps.router.mayTake(entry.seq)) {
        // No store can take it whatever it holds: only the cursor moves, the record is not parsed.
        routed.push({ entry, record: undefined, stores: [], key: none, hex: "" });
        continue;
      }
      const record = entryRecord(entry);
      const stores = this.deps.router.liveStoresFor(record, entry.seq);
      const key = stores.length > 0 ? keyHash(dedupKeyOf(record)) : none;
      routed.push({ entry, record, stores, key, hex: key.toString("hex") });
    }
    return routed;
  }

  /** `<store>:<key hex>` of the routed records the catalog already holds. */
  private async storedKeys(routed: readonly Routed[]): Promise<Set<string>> {
    const byStore = new Map<string, Routed[]>();
    for (const item of routed)
      for (const store of item.stores) {
        const items = byStore.get(store.id);
        if (items === undefined) byStore.set(store.id, [item]);
        else items.push(item);
      }
    if (byStore.size === 0) return new Set();
    for (;;) {
      // A flush that commits while the catalog answers clears flushingKeys: its keys may be missing
      // from the answer and from the sets, so ask again.
      const commits = this.commits;
      const answers = await Promise.all(
        [...byStore].map(([edsId, items]) =>
          this.deps.catalog.hasKeys(
            edsId,
            items.map((item) => item.key),
          ),
        ),
      );
      if (commits !== this.commits) continue;
      const stored = new Set<string>();
      [...byStore].forEach(([edsId, items], i) =>
        items.forEach((item, j) => {
          if (answers[i]![j]) stored.add(`${edsId}:${item.hex}`);
        }),
      );
      return stored;
    }
  }

  private add(
    edsId: string,
    entry: JournalEntry,
    record: CloudTrailRecord,
    key: Buffer,
    hex: string,
    stored: ReadonlySet<string>,
  ): void {
    const seen = `${edsId}:${hex}`;
    if (this.pendingKeys.has(seen) || this.flushingKeys.has(seen) || stored.has(seen)) return;
    this.pendingKeys.add(seen);
    const eventDate = eventDateOf(record);
    const slot = `${edsId}/${eventDate}`;
    let pending = this.pending.get(slot);
    if (!pending) this.pending.set(slot, (pending = { edsId, eventDate, rows: [], keys: [], seqs: [] }));
    pending.rows.push(recordToRow(record, entry.json, entry.provenance));
    pending.keys.push(key);
    pending.seqs.push(entry.seq);
    this.pendingRows++;
  }

  /** Writes the buffer as Parquet and commits files + cursor. Serialised: timer and handle() share it. */
  flush(): Promise<void> {
    // After a failed flush (reported to its caller), the next one starts afresh.
    const flushed = this.chain.catch(() => undefined).then(() => this.flushNow());
    this.chain = flushed;
    return flushed;
  }

  private async flushNow(): Promise<void> {
    if (this.lastSeq <= this.committedSeq) return;
    const batches = [...this.pending.values()];
    const [from, to] = [this.firstSeq, this.lastSeq];
    this.pending = new Map();
    this.flushingKeys = this.pendingKeys;
    this.pendingKeys = new Set();
    this.pendingRows = 0;
    this.firstSeq = 0;
    const files: CommittedFile[] = [];
    try {
      const name = `live-${String(from).padStart(12, "0")}-${String(to).padStart(12, "0")}`;
      for (const batch of batches) await this.writeBatch(batch, name, files);
      await this.deps.catalog.commitFiles(files, to);
      this.committedSeq = to;
      this.commits++;
      this.flushingKeys = new Set();
    } catch (error) {
      // Remove what this attempt wrote (its name range may differ next time), keep the records for the retry.
      const keys = this.flushingKeys;
      this.flushingKeys = new Set();
      for (const key of keys) this.pendingKeys.add(key);
      await Promise.all(files.map((file) => rm(file.path, { force: true })));
      for (const batch of batches) this.pending.set(`${batch.edsId}/${batch.eventDate}`, batch);
      this.firstSeq = from;
      throw error;
    }
  }

  /**
   * Writes one store's rows of one event date: one file, or (when DuckDB refuses some rows while it
   * writes the others) one file per part written, and the refused rows quarantined before the
   * commit that moves the cursor past them.
   */
  private async writeBatch(batch: Pending, name: string, files: CommittedFile[]): Promise<void> {
    const write = this.deps.writeParquet ?? writeParquet;
    const { quarantine } = this.deps;
    const target = { lakeDir: this.deps.lakeDir, edsId: batch.edsId, eventDate: batch.eventDate };
    const rows = batch.rows.map((_, index) => index);
    const writePart = async (part: readonly number[]): Promise<void> => {
      const partName = part.length === rows.length ? name : `${name}-${String(part[0]).padStart(6, "0")}`;
      const path = await write(
        this.deps.duck,
        { ...target, name: partName },
        part.map((i) => batch.rows[i]!),
      );
      files.push({ path, edsId: batch.edsId, rows: part.length, keys: part.map((i) => batch.keys[i]!) });
    };
    if (quarantine === undefined) return writePart(rows);
    const refused = await writeIsolatingRefusals(rows, writePart, () =>
      checkParquetWritable(this.deps.duck, this.deps.lakeDir),
    );
    for (const { item, error } of refused)
      await quarantine.add({ seq: batch.seqs[item]!, json: String(batch.rows[item]!["eventJson"]) }, error);
  }
}
