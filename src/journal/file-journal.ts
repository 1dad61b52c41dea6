import { join } from "node:path";
import { systemClock, type Clock } from "../lib/clock.js";
import { BlockReader } from "./block-reader.js";
import { DedupStore } from "./dedup-store.js";
import { encodeGroup, planGroup } from "./group-plan.js";
import { invariant } from "./invariant.js";
import { JournalUnavailableError } from "./journal.js";
import type { Journal, JournalAppendItem, JournalAppendResult, JournalEntry } from "./journal.js";
import { readRange, readSeqs } from "./journal-read.js";
import { openAppendFileOnDisk, SegmentStore, type OpenAppendFile } from "./segment-store.js";

export interface FileJournalOptions {
  readonly directory: string;
  readonly clock?: Clock;
  /** A segment is sealed once it reaches this size; groups never span segments. */
  readonly segmentBytesMax?: number;
  readonly blockEntriesMax?: number;
  /** Requests are coalesced into one write + fsync until this many entries (a single request may exceed it). */
  readonly groupEntriesMax?: number;
  /** deflate level; 6 measured ~135 B/entry vs ~160 at level 1, at ~2x the CPU (docs/specs/journal.md). */
  readonly compressionLevel?: number;
  /** Decoded blocks kept for readMany. */
  readonly cacheBlocksMax?: number;
  /** Dedup keys held in memory before they are written to SQLite. */
  readonly dedupPendingKeysMax?: number;
  /** Storage injection for fault tests. */
  readonly openAppendFile?: OpenAppendFile;
}

/** How often a failed journal retries recovery (a full disk freed, a transient I/O error). */
const RECOVERY_INTERVAL_MS = 1_000;

const DEFAULTS = {
  segmentBytesMax: 64 * 1024 * 1024,
  blockEntriesMax: 128,
  groupEntriesMax: 16_384,
  compressionLevel: 6,
  cacheBlocksMax: 128,
  dedupPendingKeysMax: 16_384,
};

interface AppendRequest {
  readonly items: readonly JournalAppendItem[];
  resolve(result: JournalAppendResult): void;
  reject(error: Error): void;
}

/** Opens (creating or recovering) the journal in `options.directory`. See docs/specs/journal.md. */
export async function openFileJournal(options: FileJournalOptions): Promise<FileJournal> {
  const store = await SegmentStore.open(options.directory, options.openAppendFile ?? openAppendFileOnDisk);
  const dedup = DedupStore.open(join(options.directory, "dedup.sqlite"));
  const journal = new FileJournal(store, dedup, { ...DEFAULTS, ...definedOnly(options) }, options.clock ?? systemClock);
  await journal.replayDedupKeys();
  return journal;
}

function definedOnly(options: FileJournalOptions): Partial<typeof DEFAULTS> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

export class FileJournal implements Journal {
  private readonly reader: BlockReader;
  private queue: AppendRequest[] = [];
  /** True while the single writer loop runs; `drained` settles when it stops. */
  private writing = false;
  private drained: Promise<void> = Promise.resolve();
  /** Set by a write/fsync failure; nothing is acknowledged until recovery has cut the tail back to the last durable group. */
  private failure: JournalUnavailableError | null = null;
  private recoveryAttemptedAtMs = 0;
  private closed = false;
  private waiters = new Set<() => void>();
  private retention: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: SegmentStore,
    private readonly dedup: DedupStore,
    private readonly limits: typeof DEFAULTS,
    private readonly clock: Clock,
  ) {
    this.reader = new BlockReader(store, limits.cacheBlocksMax);
  }

  /** Re-adds keys of entries after the dedup cursor (lost from SQLite in a crash, or never flushed). */
  async replayDedupKeys(): Promise<void> {
    if (this.dedup.cursorSeq() > this.headSeq()) this.dedup.rollBackTo(this.headSeq());
    let seq = Math.max(this.dedup.cursorSeq() + 1, this.firstSeq());
    while (seq <= this.headSeq()) {
      const segment = this.store.findSegment(seq)!;
      const blockIndex = segment.findBlock(seq);
      const block = await this.reader.load(segment, blockIndex, false);
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
   * The single writer: requests queued while a group is in flight form the next group. `writing`
   * is cleared in the same synchronous step as the last empty-queue check, so no request can be
   * queued without a running writer.
   */
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.takeGroup();
        if (this.failure !== null && !(await this.tryRecover())) {
          for (const request of group) request.reject(this.failure);
          continue;
        }
        await this.commitGroup(group);
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

  private async commitGroup(group: AppendRequest[]): Promise<void> {
    const firstSeq = this.headSeq() + 1;
    const plan = planGroup(
      group.map((request) => request.items),
      firstSeq,
      (hash) => this.dedup.has(hash),
    );
    try {
      if (plan.entries.length > 0) await this.writeGroup(plan.entries, firstSeq);
    } catch (error) {
      this.failure = new JournalUnavailableError(
        "The journal could not write durably; it retries recovery every second.",
        {
          cause: error,
        },
      );
      this.recoveryAttemptedAtMs = this.clock.nowMs();
      for (const request of group) request.reject(this.failure);
      return;
    }
    invariant(this.headSeq() === firstSeq + plan.entries.length - 1, "Head did not advance by the group size.");
    for (const [i, entry] of plan.entries.entries())
      if (entry.keyHash !== null) this.dedup.addDurable(entry.keyHash, firstSeq + i);
    for (const [i, request] of group.entries()) request.resolve({ seqs: plan.seqsPerRequest[i]! });
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

  private async writeGroup(entries: Parameters<typeof encodeGroup>[0], firstSeq: number): Promise<void> {
    let segment = this.store.activeSegment;
    if (segment.sizeBytes >= this.limits.segmentBytesMax && segment.blocks.length > 0) {
      await this.store.roll();
      segment = this.store.activeSegment;
    }
    invariant(segment.nextSeq === firstSeq, "Group does not start at the segment's next seq.");
    const encoded = await encodeGroup(entries, {
      firstSeq,
      appendedAtMs: this.clock.nowMs(),
      offset: segment.sizeBytes,
      blockEntriesMax: this.limits.blockEntriesMax,
      compressionLevel: this.limits.compressionLevel,
    });
    await this.store.appendGroup(encoded.buffers, encoded.blocks);
  }

  private wakeWaiters(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  read(fromSeq: number, maxEntries: number): Promise<JournalEntry[]> {
    return readRange(this.store, this.reader, fromSeq, maxEntries);
  }

  readMany(seqs: readonly number[]): Promise<Map<number, JournalEntry>> {
    return readSeqs(this.store, this.reader, seqs);
  }

  headSeq(): number {
    return this.store.headSeq();
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
        const block = await this.reader.load(oldest, i, false);
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
