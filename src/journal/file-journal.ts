import { join } from "node:path";
import { systemClock, type Clock } from "../lib/clock.js";
import { startCompressionThread } from "./block-codec.js";
import { BlockReader } from "./block-reader.js";
import { DedupStore } from "./dedup-store.js";
import { DICTIONARY_CLOUDTRAIL_1 } from "./block-dictionary.js";
import { encodeGroup, locateGroup, planGroup, type EncodedGroup, type GroupPlan } from "./group-plan.js";
import type { PayloadEntry } from "./block-format.js";
import { HeadCache } from "./head-cache.js";
import { invariant } from "./invariant.js";
import { JournalUnavailableError } from "./journal.js";
import type {
  AppendedGroup,
  Journal,
  JournalAppendItem,
  JournalAppendResult,
  JournalEntry,
  JournalSlice,
} from "./journal.js";
import { locateRange, readRange, readRangeWithKeys, readSeqs, type KeyedJournalEntry } from "./journal-read.js";
import { openAppendFileOnDisk, SegmentStore, type OpenAppendFile } from "./segment-store.js";

export interface FileJournalOptions {
  readonly directory: string;
  readonly clock?: Clock;
  /** A segment is sealed once it reaches this size; groups never span segments. */
  readonly segmentBytesMax?: number;
  /** 32 with the preset dictionary: ~3 % more bytes than 128, a quarter of the inflate per random read (decision 0004). */
  readonly blockEntriesMax?: number;
  /** Requests are coalesced into one write + fsync until this many entries (a single request may exceed it). */
  readonly groupEntriesMax?: number;
  /** deflate level (decision 0004 has the measurements). */
  readonly compressionLevel?: number;
  /** Preset dictionary for new blocks (block-dictionary.ts); DICTIONARY_NONE writes the pre-dictionary format. */
  readonly dictionaryId?: number;
  /** Decoded blocks kept for readMany. */
  readonly cacheBlocksMax?: number;
  /** readMany inflates blocks up to this size on the calling thread instead of the thread pool. */
  readonly syncInflateBytesMax?: number;
  /** JSON characters of the latest durable entries kept for reads at the head (head-cache.ts); 0: none. */
  readonly headCacheCharsMax?: number;
  /** Dedup keys held in memory before they are written to SQLite. */
  readonly dedupPendingKeysMax?: number;
  /** Storage injection for fault tests. */
  readonly openAppendFile?: OpenAppendFile;
}

/** How often a failed journal retries recovery (a full disk freed, a transient I/O error). */
const RECOVERY_INTERVAL_MS = 1_000;

const DEFAULTS = {
  segmentBytesMax: 64 * 1024 * 1024,
  blockEntriesMax: 32,
  groupEntriesMax: 16_384,
  compressionLevel: 6,
  dictionaryId: DICTIONARY_CLOUDTRAIL_1,
  cacheBlocksMax: 512,
  syncInflateBytesMax: 128 * 1024,
  dedupPendingKeysMax: 16_384,
  // ~13k entries of ~1.2 KB: more than a second of ingest at this machine's rate, for consumers a little behind.
  headCacheCharsMax: 16 * 1024 * 1024,
};

interface AppendRequest {
  readonly items: readonly JournalAppendItem[];
  resolve(result: JournalAppendResult): void;
  reject(error: Error): void;
}

/** A group whose seqs and dedup answers are fixed and whose blocks are being compressed. */
interface PreparedGroup {
  readonly requests: AppendRequest[];
  readonly plan: GroupPlan;
  readonly firstSeq: number;
  /** latin1 ids of the group's key hashes, "known" to later groups until this one is durable. */
  readonly keys: string[];
  /** null for an all-duplicate group, which writes nothing. */
  readonly encoded: Promise<EncodedGroup | null>;
}

/** Opens (creating or recovering) the journal in `options.directory`. See docs/specs/journal.md. */
export async function openFileJournal(options: FileJournalOptions): Promise<FileJournal> {
  const store = await SegmentStore.open(options.directory, options.openAppendFile ?? openAppendFileOnDisk);
  const dedup = DedupStore.open(join(options.directory, "dedup.sqlite"));
  const journal = new FileJournal(store, dedup, { ...DEFAULTS, ...definedOnly(options) }, options.clock ?? systemClock);
  try {
    await startCompressionThread();
    await journal.replayDedupKeys();
  } catch (error) {
    dedup.close();
    await store.close();
    throw error;
  }
  return journal;
}

/** A durable group's entries as a read of its blocks returns them (block-reader.ts, decodeBlock). */
function cachedEntries(entries: readonly PayloadEntry[], firstSeq: number, appendedAtMs: number): JournalEntry[] {
  return entries.map((entry, i): JournalEntry =>
    entry.provenance === null
      ? { seq: firstSeq + i, appendedAtMs, json: entry.json }
      : { seq: firstSeq + i, appendedAtMs, json: entry.json, provenance: entry.provenance },
  );
}

function definedOnly(options: FileJournalOptions): Partial<typeof DEFAULTS> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

export class FileJournal implements Journal {
  private readonly reader: BlockReader;
  private readonly headCache: HeadCache;
  private queue: AppendRequest[] = [];
  private readonly unsyncedKeys = new Set<string>();
  /** True while the single writer loop runs; `drained` settles when it stops. */
  private writing = false;
  private drained: Promise<void> = Promise.resolve();
  /** Set by a write/fsync failure; nothing is acknowledged until recovery has cut the tail back to the last durable group. */
  private failure: JournalUnavailableError | null = null;
  private recoveryAttemptedAtMs = 0;
  private closed = false;
  private waiters = new Set<() => void>();
  private readonly observers = new Set<(group: AppendedGroup) => void>();
  private retention: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: SegmentStore,
    private readonly dedup: DedupStore,
    private readonly limits: typeof DEFAULTS,
    private readonly clock: Clock,
  ) {
    this.reader = new BlockReader(store, limits);
    this.headCache = new HeadCache(limits.headCacheCharsMax);
  }

  /**
   * An empty append goes through the writer: while the journal has failed it runs recovery (at most
   * once a second) and rejects until recovery succeeds. Then a small file is written beside the
   * segments, so a disk that filled up is seen before an append fails on it.
   */
  async checkWritable(): Promise<void> {
    await this.append([]);
    try {
      await this.store.probeWrite();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new JournalUnavailableError(
        `The journal's disk refuses writes${typeof code === "string" ? ` (${code})` : ""}.`,
        { cause: error },
      );
    }
  }

  /** Re-adds keys of entries after the dedup cursor (lost from SQLite in a crash, or never flushed). */
  async replayDedupKeys(): Promise<void> {
    if (this.dedup.cursorSeq() > this.headSeq()) this.dedup.rollBackTo(this.headSeq());
    let seq = Math.max(this.dedup.cursorSeq() + 1, this.firstSeq());
    while (seq <= this.headSeq()) {
      const segment = this.store.findSegment(seq)!;
      const blockIndex = segment.findBlock(seq);
      const block = await this.reader.load(segment, blockIndex);
      for (const [i, hash] of block.keyHashes.entries())
        if (hash !== null) this.dedup.addDurable(hash, block.entries[i]!.seq);
      seq = block.entries.at(-1)!.seq + 1;
    }
    this.dedup.flush(this.headSeq());
  }

  append(items: readonly JournalAppendItem[]): Promise<JournalAppendResult> {
    if (this.closed) return Promise.reject(new JournalUnavailableError("The journal is closed."));
    return new Promise((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      if (!this.writing) {
        this.writing = true;
        this.drained = this.drain();
      }
    });
  }

  /**
   * The single writer, pipelined two deep: while one group is written and fsynced, the next is planned
   * (dedup + seqs) and compressed, because compression takes about as long as the write + fsync and
   * the two use different resources (CPU vs disk). A group is only written after the previous one is
   * durable, and is rejected if that one failed: its seqs and dedup answers were computed on top of
   * it. `writing` is cleared in the same synchronous step as the last empty-queue check, so no request
   * can be queued without a running writer.
   */
  private async drain(): Promise<void> {
    let inFlight: Promise<void> = Promise.resolve();
    let nextSeq = this.headSeq() + 1;
    try {
      for (;;) {
        if (this.queue.length === 0) {
          await inFlight;
          if (this.queue.length === 0) break;
        }
        if (this.failure !== null) {
          // Nothing may be planned on top of an unknown tail: settle the pipeline, then recover.
          await inFlight;
          this.unsyncedKeys.clear();
          if (!(await this.tryRecover())) {
            for (const request of this.takeGroup()) request.reject(this.failure);
            continue;
          }
          nextSeq = this.headSeq() + 1;
        }
        const prepared = this.prepareGroup(this.takeGroup(), nextSeq);
        nextSeq += prepared.plan.entries.length;
        const previous = inFlight;
        inFlight = this.commitGroup(prepared, previous);
        // Depth two: the next group is taken only once this one's predecessor is durable, so that
        // requests arriving meanwhile coalesce into it.
        await previous;
      }
    } finally {
      this.writing = false;
    }
  }

  /**
   * Recovery after a failure, at most once per interval: truncate the unacknowledged tail, reopen the
   * append handle, flush pending dedup keys. Until it succeeds every append is refused (fail closed).
   */
  private async tryRecover(): Promise<boolean> {
    const nowMs = this.clock.nowMs();
    if (nowMs - this.recoveryAttemptedAtMs < RECOVERY_INTERVAL_MS) return false;
    this.recoveryAttemptedAtMs = nowMs;
    try {
      await this.store.reopenActive();
      this.dedup.flush(this.headSeq());
      this.failure = null;
      return true;
    } catch {
      return false;
    }
  }

  private takeGroup(): AppendRequest[] {
    let entries = 0;
    let count = 0;
    for (const request of this.queue) {
      if (count > 0 && entries + request.items.length > this.limits.groupEntriesMax) break;
      entries += request.items.length;
      count++;
    }
    return this.queue.splice(0, count);
  }

  /** Plans a group synchronously (the dedup critical section) and starts compressing it. */
  private prepareGroup(requests: AppendRequest[], firstSeq: number): PreparedGroup {
    const plan = planGroup(
      requests.map((request) => request.items),
      firstSeq,
      // Keys of the group still being written count as known, so the two cannot both store a key.
      (hash) => this.unsyncedKeys.has(hash.toString("latin1")) || this.dedup.has(hash),
    );
    const keys: string[] = [];
    for (const entry of plan.entries) if (entry.keyHash !== null) keys.push(entry.keyHash.toString("latin1"));
    for (const key of keys) this.unsyncedKeys.add(key);
    const encoded =
      plan.entries.length === 0
        ? Promise.resolve(null)
        : encodeGroup(plan.entries, {
            firstSeq,
            appendedAtMs: this.clock.nowMs(),
            blockEntriesMax: this.limits.blockEntriesMax,
            compressionLevel: this.limits.compressionLevel,
            dictionaryId: this.limits.dictionaryId,
          });
    // Observed here so that a group rejected before its compression settles leaves no unhandled rejection.
    encoded.catch(() => undefined);
    return { requests, plan, firstSeq, keys, encoded };
  }

  /** Writes a prepared group once `previous` is durable; settles its requests; never rejects. */
  private async commitGroup(group: PreparedGroup, previous: Promise<void>): Promise<void> {
    await previous;
    let appendedAtMs = 0;
    try {
      if (this.failure !== null) throw this.failure;
      const encoded = await group.encoded;
      if (encoded !== null) await this.writeGroup(encoded);
      appendedAtMs = encoded?.appendedAtMs ?? 0;
    } catch (error) {
      this.failure ??= new JournalUnavailableError(
        "The journal could not write durably; it retries recovery every second.",
        { cause: error },
      );
      this.recoveryAttemptedAtMs = this.clock.nowMs();
      for (const request of group.requests) request.reject(this.failure);
      return;
    }
    const { entries, seqsPerRequest } = group.plan;
    invariant(this.headSeq() === group.firstSeq + entries.length - 1, "Head did not advance by the group size.");
    for (const [i, entry] of entries.entries())
      if (entry.keyHash !== null) this.dedup.addDurable(entry.keyHash, group.firstSeq + i);
    for (const key of group.keys) this.unsyncedKeys.delete(key);
    this.headCache.add(cachedEntries(entries, group.firstSeq, appendedAtMs));
    if (entries.length > 0) this.notifyObservers({ firstSeq: group.firstSeq, appendedAtMs, items: group.plan.items });
    for (const [i, request] of group.requests.entries()) request.resolve({ seqs: seqsPerRequest[i]! });
    this.wakeWaiters();
    if (this.dedup.pendingCount() >= this.limits.dedupPendingKeysMax) this.flushDedup();
  }

  /** A SQLite failure loses nothing (keys stay pending and are replayed on open) but stops acknowledgements. */
  private flushDedup(): void {
    try {
      this.dedup.flush(this.headSeq());
    } catch (error) {
      this.failure ??= new JournalUnavailableError("The dedup key store failed; recovery is retried every second.", {
        cause: error,
      });
      this.recoveryAttemptedAtMs = this.clock.nowMs();
    }
  }

  private async writeGroup(group: EncodedGroup): Promise<void> {
    let segment = this.store.activeSegment;
    if (segment.sizeBytes >= this.limits.segmentBytesMax && segment.blocks.length > 0) {
      await this.store.roll();
      segment = this.store.activeSegment;
    }
    invariant(segment.nextSeq === group.firstSeq, "Group does not start at the segment's next seq.");
    await this.store.appendGroup(group.buffers, locateGroup(group, segment.sizeBytes));
  }

  observeAppends(observer: (group: AppendedGroup) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** An observer's fault must not keep a durable group from being answered: it is dropped. */
  private notifyObservers(group: AppendedGroup): void {
    for (const observer of this.observers) {
      try {
        observer(group);
      } catch {
        // The observer loses what it would have derived from this group; the journal has it.
      }
    }
  }

  private wakeWaiters(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  read(fromSeq: number, maxEntries: number): Promise<JournalEntry[]> {
    const start = Math.max(fromSeq, this.store.firstSeq());
    const cached = this.headCache.read(start, Math.min(start + maxEntries - 1, this.headSeq()));
    if (cached !== undefined) return Promise.resolve(cached);
    return readRange(this.store, this.reader, fromSeq, maxEntries);
  }

  /** As `read`, each entry with its dedup key's hash (`cairn migrate --to-cluster` keeps the keys). */
  readWithKeys(fromSeq: number, maxEntries: number): Promise<KeyedJournalEntry[]> {
    return readRangeWithKeys(this.store, this.reader, fromSeq, maxEntries);
  }

  /**
   * Where `read(fromSeq, maxEntries)` would find its entries, for a reader on another thread that
   * opens the segment files itself (the event-history worker). Only durable blocks are listed.
   */
  slice(fromSeq: number, maxEntries: number): JournalSlice {
    return locateRange(this.store, fromSeq, maxEntries);
  }

  readMany(seqs: readonly number[]): Promise<Map<number, JournalEntry>> {
    return readSeqs(this.store, this.reader, seqs);
  }

  headSeq(): number {
    return this.store.headSeq();
  }

  /** This process is the only writer: its head is the journal's. */
  latestSeq(): Promise<number> {
    return Promise.resolve(this.headSeq());
  }

  firstSeq(): number {
    return Math.min(this.store.firstSeq(), this.headSeq() + 1);
  }

  waitForAppend(afterSeq: number, signal?: AbortSignal): Promise<void> {
    if (this.headSeq() > afterSeq || signal?.aborted === true || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        this.waiters.delete(wake);
        signal?.removeEventListener("abort", wake);
        resolve();
      };
      this.waiters.add(wake);
      signal?.addEventListener("abort", wake, { once: true });
    });
  }

  deleteBefore(beforeSeq: number, olderThanMs: number): Promise<number> {
    const run = this.retention.then(() => this.deleteSegmentsBefore(beforeSeq, olderThanMs));
    this.retention = run.catch(() => undefined);
    return run;
  }

  private async deleteSegmentsBefore(beforeSeq: number, olderThanMs: number): Promise<number> {
    let deleted = 0;
    this.dedup.flush(this.headSeq());
    for (;;) {
      const [oldest, next] = this.store.segments;
      if (oldest === undefined || next === undefined) break;
      if (oldest.nextSeq > beforeSeq || oldest.appendedAtMsMax >= olderThanMs) break;
      const hashes: Buffer[] = [];
      for (let i = 0; i < oldest.blocks.length; i++) {
        const block = await this.reader.load(oldest, i);
        for (const hash of block.keyHashes) if (hash !== null) hashes.push(hash);
      }
      await this.store.deleteOldest();
      this.reader.forget(oldest);
      this.dedup.deleteHashes(hashes);
      deleted += oldest.entryCount;
    }
    return deleted;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.drained;
    await this.retention;
    this.wakeWaiters();
    try {
      if (this.failure === null) this.dedup.flush(this.headSeq());
    } finally {
      this.dedup.close();
      await this.store.close();
    }
  }
}
