import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { JetStreamPublisher, type PublishAck } from "./jetstream-publisher.js";
import { systemClock, type Clock } from "../lib/clock.js";
import { parseProvenance, provenanceText, type IngestProvenance } from "../model/provenance.js";
import { EntryCache } from "./entry-cache.js";
import { hashDedupKey } from "./dedup-store.js";
import { entryHeaders, entryPayload } from "./jetstream-entry.js";
import { StreamKeyIndex, type DurableKeyIndex } from "./jetstream-keys.js";
import { getSeqs, readStreamRange, type StreamReader } from "./jetstream-read.js";
import { boundsOf, ensureStream, type StreamBounds } from "./jetstream-stream.js";
import {
  JournalUnavailableError,
  type Journal,
  type JournalAppendItem,
  type JournalAppendResult,
  type JournalEntry,
  type JournalSlice,
} from "./journal.js";

/**
 * The journal on a NATS JetStream stream (cluster mode, issue #13; docs/decisions/0010-jetstream-journal.md).
 * The stream's sequence is the journal's seq; every node of a cluster appends to and reads the same
 * stream, so seq order is the stream's, not any node's.
 */
export interface JetStreamJournalOptions {
  /** `nats://host:port`, several comma-separated or as a list (any node of the NATS cluster). */
  readonly servers: string | readonly string[];
  /** Default `cairn-journal`. */
  readonly stream?: string;
  /** Default: the stream's name. */
  readonly subject?: string;
  /** 1–5, default 1. */
  readonly replicas?: number;
  /** How long JetStream itself drops a repeated dedup key; default 2 minutes (JetStream's default). */
  readonly duplicateWindowMs?: number;
  /** Per request (a publish's ack, a read, a purge); default 5 s. */
  readonly requestTimeoutMs?: number;
  /** While someone waits for an append, how often the stream's head is asked for (appends by other nodes); default 100 ms. */
  readonly headPollMs?: number;
  /** Entries kept for `slice()` (this node's appends and prepared ranges); default 16,384. */
  readonly cacheEntriesMax?: number;
  readonly clock?: Clock;
  /**
   * Keys of every stored entry (this node's copy, derived from the stream; the file journal's SQLite
   * store fits), for dedup beyond the duplicate window. Without it a repeat older than the window is
   * stored again. The journal owns it and closes it.
   */
  readonly keyIndex?: DurableKeyIndex;
}

interface Waiter {
  readonly afterSeq: number;
  readonly wake: () => void;
}

/** A message built before any is sent, so a bad item refuses the whole call with nothing published. */
interface Outgoing {
  readonly payload: Uint8Array;
  readonly headers: MsgHdrs;
  readonly keyHash: Buffer | undefined;
}

const DEFAULTS = {
  stream: "cairn-journal",
  replicas: 1,
  duplicateWindowMs: 120_000,
  requestTimeoutMs: 5_000,
  headPollMs: 100,
  cacheEntriesMax: 16_384,
};

export async function openJetStreamJournal(options: JetStreamJournalOptions): Promise<JetStreamJournal> {
  const replicas = options.replicas ?? DEFAULTS.replicas;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5)
    throw new RangeError("The journal stream's replicas must be 1 to 5.");
  const stream = options.stream ?? DEFAULTS.stream;
  const timeoutMs = options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs;
  const servers = typeof options.servers === "string" ? options.servers.split(",") : [...options.servers];
  // No async traces: nats.js otherwise builds two Errors with stacks per publish, a third of the CPU of an append.
  const nc = await connect({
    servers,
    name: "cairn-journal",
    maxReconnectAttempts: -1,
    timeout: timeoutMs,
    noAsyncTraces: true,
  });
  try {
    const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
    const subject = options.subject ?? stream;
    const duplicateWindowMs = options.duplicateWindowMs ?? DEFAULTS.duplicateWindowMs;
    const info = await ensureStream(jsm, { stream, subject, replicas, duplicateWindowMs });
    const reader = { js: jetstream(nc, { timeout: timeoutMs }), jsm, stream, timeoutMs };
    const keys = options.keyIndex && new StreamKeyIndex(options.keyIndex, reader, duplicateWindowMs);
    // A node's first start reads every key of the stream once; later starts only what was added since.
    await keys?.catchUp();
    return new JetStreamJournal(nc, reader, { subject, keys }, boundsOf(info), options);
  } catch (error) {
    options.keyIndex?.close();
    await nc.close();
    throw error;
  }
}

export class JetStreamJournal implements Journal {
  private head: number;
  private first: number;
  private readonly cache: EntryCache;
  private readonly clock: Clock;
  private readonly headPollMs: number;
  private readonly waiters = new Set<Waiter>();
  private readonly appending = new Set<Promise<unknown>>();
  private pollTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly publisher: JetStreamPublisher;

  constructor(
    private readonly nc: NatsConnection,
    private readonly reader: StreamReader,
    private readonly publishing: { readonly subject: string; readonly keys: StreamKeyIndex | undefined },
    bounds: StreamBounds,
    options: JetStreamJournalOptions,
  ) {
    this.head = bounds.lastSeq;
    this.first = bounds.firstSeq;
    this.cache = new EntryCache(options.cacheEntriesMax ?? DEFAULTS.cacheEntriesMax);
    this.clock = options.clock ?? systemClock;
    this.headPollMs = options.headPollMs ?? DEFAULTS.headPollMs;
    this.publisher = new JetStreamPublisher(nc, reader.stream);
  }

  async append(items: readonly JournalAppendItem[]): Promise<JournalAppendResult> {
    if (this.closed) throw new JournalUnavailableError("The journal is closed.");
    const work = this.publishGroup(items);
    this.appending.add(work);
    try {
      return await work;
    } finally {
      this.appending.delete(work);
    }
  }

  /**
   * Publishes every item without awaiting in between, so one call's messages leave on the connection
   * back to back (the stream stores them in that order: contiguous unless another node's publishes
   * land between them), then awaits all acks: one round trip per call, not per entry.
   */
  private async publishGroup(items: readonly JournalAppendItem[]): Promise<JournalAppendResult> {
    const appendedAtMs = this.clock.nowMs();
    const outgoing = await this.dropStoredKeys(this.build(items, appendedAtMs));
    const sending = outgoing.filter((message) => message !== null);
    const answers = await this.publisher.publishAll(
      this.publishing.subject,
      sending.map((message) => ({
        payload: message.payload,
        headers: message.headers,
        ...(message.keyHash === undefined ? {} : { msgId: message.keyHash.toString("hex") }),
      })),
      this.reader.timeoutMs,
    );
    const failed = answers.find((answer) => answer instanceof Error);
    if (failed !== undefined)
      throw new JournalUnavailableError(
        "JetStream did not acknowledge every entry of the append; it may have stored some of them.",
        { cause: failed },
      );
    const acks = new Map(sending.map((message, i) => [message, answers[i] as PublishAck]));
    const seqs = outgoing.map((message) => seqOf(message === null ? null : acks.get(message)!));
    this.remember(items, seqs, appendedAtMs);
    seqs.forEach((seq, i) => {
      const hash = outgoing[i]?.keyHash;
      if (seq !== null && hash !== undefined) this.publishing.keys?.remember(hash, seq);
    });
    return { seqs };
  }

  /** Per item its message, or null for a repeat of a key earlier in the same call (JetStream would drop it anyway). */
  private build(items: readonly JournalAppendItem[], appendedAtMs: number): Array<Outgoing | null> {
    const seen = new Set<string>();
    const payloadMax = this.nc.info?.max_payload ?? Number.MAX_SAFE_INTEGER;
    return items.map((item) => {
      const keyHash = item.dedupKey === undefined ? undefined : hashDedupKey(item.dedupKey);
      if (keyHash !== undefined) {
        const id = keyHash.toString("hex");
        if (seen.has(id)) return null;
        seen.add(id);
      }
      const payload = entryPayload(item);
      // Ingest bounds a record far below NATS's max_payload (1 MiB by default); past it is a caller's bug.
      if (payload.byteLength > payloadMax) throw new RangeError("A journal entry exceeds the NATS max_payload.");
      return { payload, headers: entryHeaders(item, appendedAtMs), keyHash };
    });
  }

  /** Items whose key the key index holds (stored before JetStream's window) become null, as repeats. */
  private async dropStoredKeys(outgoing: Array<Outgoing | null>): Promise<Array<Outgoing | null>> {
    const keys = this.publishing.keys;
    const keyed = outgoing.filter((message) => message?.keyHash !== undefined) as Outgoing[];
    if (keys === undefined || keyed.length === 0) return outgoing;
    const present = await this.unavailableOnError(() => keys.present(keyed.map((message) => message.keyHash!)));
    const stored = new Set(keyed.filter((_, i) => present[i]));
    return outgoing.map((message) => (message !== null && stored.has(message) ? null : message));
  }

  private remember(
    items: readonly JournalAppendItem[],
    seqs: ReadonlyArray<number | null>,
    appendedAtMs: number,
  ): void {
    let head = this.head;
    // As a read would return it (members in their order, nothing else), so a slice equals a read.
    const stored = new Map<IngestProvenance, IngestProvenance | undefined>();
    const asStored = (value: IngestProvenance): IngestProvenance | undefined => {
      if (!stored.has(value)) stored.set(value, parseProvenance(provenanceText(value)));
      return stored.get(value);
    };
    seqs.forEach((seq, i) => {
      if (seq === null) return;
      const item = items[i]!;
      const entry: JournalEntry = { seq, appendedAtMs, json: item.json };
      const provenance = item.provenance && asStored(item.provenance);
      this.cache.add(provenance === undefined ? entry : { ...entry, provenance });
      head = Math.max(head, seq);
    });
    // The stream stores in seq order, so every seq up to an acknowledged one is stored too.
    this.advance({ firstSeq: this.first, lastSeq: head });
  }

  async read(fromSeq: number, maxEntries: number): Promise<JournalEntry[]> {
    if (maxEntries <= 0) return [];
    // This node's own appends are cached: a consumer following them (the indexer, a trail on the
    // node that ingested) reads them without a round trip. A short read is the contract's: the
    // caller goes on from the last entry, and the stream serves what is not cached.
    const from = Math.max(fromSeq, this.first, 1);
    const cached = this.cache.run(from, Math.min(from + maxEntries - 1, this.head));
    if (cached.length > 0) return cached;
    const start = Math.max(fromSeq, 1);
    // Other nodes append too: past the known head, ask the stream where its head is now.
    if (start + maxEntries - 1 > this.head) await this.refresh();
    const first = Math.max(start, this.first);
    return this.unavailableOnError(() =>
      readStreamRange(this.reader, first, Math.min(first + maxEntries - 1, this.head)),
    );
  }

  /**
   * The cached entries from `fromSeq` on (see EntryCache): synchronous and without I/O as the contract
   * asks, possibly shorter than what is stored. `prepareSlice` first makes it the whole range.
   */
  slice(fromSeq: number, maxEntries: number): JournalSlice {
    const start = Math.max(fromSeq, this.firstSeq());
    const end = Math.min(start + maxEntries - 1, this.head);
    const entries = end < start ? [] : this.cache.run(start, end);
    return { kind: "entries", start, end: start + entries.length - 1, entries };
  }

  async prepareSlice(fromSeq: number, maxEntries: number): Promise<void> {
    const start = Math.max(fromSeq, this.firstSeq());
    const cached = this.cache.run(start, Math.min(start + maxEntries - 1, this.head)).length;
    // Only these reads and this node's appends fill the cache: another consumer's reads far behind
    // the head would otherwise evict the range the slice's reader is about to ask for.
    if (cached < maxEntries)
      for (const entry of await this.read(start + cached, maxEntries - cached)) this.cache.add(entry);
  }

  async readMany(seqs: readonly number[]): Promise<Map<number, JournalEntry>> {
    const out = new Map<number, JournalEntry>();
    const missing: number[] = [];
    for (const seq of new Set(seqs)) {
      if (!Number.isSafeInteger(seq) || seq < 1) continue;
      const cached = this.cache.get(seq);
      if (cached !== undefined && seq >= this.first) out.set(seq, cached);
      else missing.push(seq);
    }
    const found = await this.unavailableOnError(() => getSeqs(this.reader, missing));
    for (const [seq, entry] of found) out.set(seq, entry);
    return out;
  }

  headSeq(): number {
    return this.head;
  }

  firstSeq(): number {
    return Math.min(this.first, this.head + 1);
  }

  /**
   * The stream's last seq as its server has it now, appends by other nodes included (headSeq() only
   * knows them once a read or a wait asked): the position a read-your-writes wait must reach.
   */
  async latestSeq(): Promise<number> {
    await this.refresh();
    return this.head;
  }

  waitForAppend(afterSeq: number, signal?: AbortSignal): Promise<void> {
    if (this.head > afterSeq || signal?.aborted === true || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = {
        afterSeq,
        wake: () => {
          this.waiters.delete(waiter);
          signal?.removeEventListener("abort", waiter.wake);
          resolve();
        },
      };
      this.waiters.add(waiter);
      signal?.addEventListener("abort", waiter.wake, { once: true });
      this.schedulePoll();
    });
  }

  /** Appends by other nodes reach this one only through the stream: poll its head while anyone waits. */
  private schedulePoll(): void {
    if (this.pollTimer !== undefined || this.waiters.size === 0 || this.closed) return;
    this.pollTimer = setTimeout(() => {
      void this.refresh()
        .catch(() => undefined)
        .finally(() => {
          this.pollTimer = undefined;
          this.schedulePoll();
        });
    }, this.headPollMs);
    this.pollTimer.unref();
  }

  private async refresh(): Promise<void> {
    const info = await this.unavailableOnError(() => this.reader.jsm.streams.info(this.reader.stream));
    this.advance(boundsOf(info));
  }

  /** Bounds only move forward: a stale answer (an info sent before an ack arrived) never takes a seq back. */
  private advance(bounds: StreamBounds): void {
    this.head = Math.max(this.head, bounds.lastSeq);
    if (bounds.firstSeq > this.first) {
      this.first = bounds.firstSeq;
      this.cache.dropBelow(this.first);
    }
    for (const waiter of this.waiters) if (this.head > waiter.afterSeq) waiter.wake();
  }

  /** The stream answers and has a leader (a replicated stream without one takes no writes). */
  async checkWritable(): Promise<void> {
    if (this.closed || this.nc.isClosed()) throw new JournalUnavailableError("The journal is closed.");
    const info = await this.unavailableOnError(() => this.reader.jsm.streams.info(this.reader.stream));
    if (info.config.sealed === true) throw new JournalUnavailableError("The journal stream is sealed.");
    if (info.cluster !== undefined && !info.cluster.leader)
      throw new JournalUnavailableError("The journal stream has no leader.");
    this.advance(boundsOf(info));
  }

  /**
   * Purges the longest prefix below `beforeSeq` whose entries are all older than `olderThanMs`,
   * reading it in order to check their ages (what is read is what is deleted, plus the one entry
   * that stops the scan). JetStream's purge by seq keeps that seq and everything after it.
   */
  async deleteBefore(beforeSeq: number, olderThanMs: number): Promise<number> {
    await this.refresh();
    const limit = Math.min(beforeSeq, this.head + 1);
    let cut = this.first;
    for (let scanning = true; scanning && cut < limit;) {
      const entries = await this.unavailableOnError(() =>
        readStreamRange(this.reader, cut, Math.min(limit - 1, cut + RETENTION_SCAN_ENTRIES - 1)),
      );
      scanning = entries.length > 0;
      for (const entry of entries) {
        if (entry.appendedAtMs >= olderThanMs) {
          scanning = false;
          break;
        }
        cut = entry.seq + 1;
      }
    }
    if (cut <= this.first) return 0;
    const response = await this.unavailableOnError(() =>
      this.reader.jsm.streams.purge(this.reader.stream, { seq: cut }),
    );
    this.advance({ firstSeq: cut, lastSeq: this.head });
    return response.purged;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.appending]);
    clearTimeout(this.pollTimer);
    for (const waiter of this.waiters) waiter.wake();
    this.publisher.close();
    await this.publishing.keys?.close();
    await this.nc.close();
  }

  private async unavailableOnError<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new JournalUnavailableError("The JetStream journal did not answer.", { cause: error });
    }
  }
}

/** Entries read per request while retention checks ages. */
const RETENTION_SCAN_ENTRIES = 1_000;

function seqOf(ack: PublishAck | null): number | null {
  return ack === null || ack.duplicate ? null : ack.seq;
}
