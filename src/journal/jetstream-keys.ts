import { DeliverPolicy } from "@nats-io/jetstream";
import type { DedupStore } from "./dedup-store.js";
import type { StreamReader } from "./jetstream-read.js";
import { boundsOf } from "./jetstream-stream.js";

/**
 * The keys of every entry of the stream, for dedup beyond JetStream's duplicate window (which only
 * remembers a `Nats-Msg-Id` for that long). The file journal's SQLite key store fits (DedupStore);
 * another store with these methods can stand in. It is derived data: each node fills its own from
 * the stream and a lost one is rebuilt by reading the stream's headers again.
 */
export type DurableKeyIndex = Pick<DedupStore, "cursorSeq" | "has" | "addDurable" | "flush" | "deleteBelow" | "close">;

/** Entries whose headers one catch-up request reads. */
const CATCH_UP_ENTRIES = 10_000;
const MSG_ID = "Nats-Msg-Id";
const HASH_HEX = /^[0-9a-f]{32}$/;

/**
 * Keeps a DurableKeyIndex caught up with the stream so that, for every key, either the index has it
 * or JetStream still remembers it: every entry after the index's cursor was stored after the last
 * catch-up began, so while that is less than the duplicate window ago, JetStream drops its repeats.
 * Appends check the index first; a catch-up older than half the window is awaited, one older than
 * a quarter is started in the background, so in steady state no append waits for one.
 */
export class StreamKeyIndex {
  private caughtUpAtMs = Number.NEGATIVE_INFINITY;
  private running: Promise<void> | undefined;
  private forgottenBelow = 1;

  constructor(
    private readonly index: DurableKeyIndex,
    private readonly reader: StreamReader,
    private readonly windowMs: number,
  ) {}

  /** Per hash: stored in an entry the index holds (a repeat older than JetStream's window, or any other). */
  async present(hashes: readonly Buffer[]): Promise<boolean[]> {
    const age = performance.now() - this.caughtUpAtMs;
    if (age > this.windowMs / 2) await this.catchUp();
    else if (age > this.windowMs / 4) this.catchUp().catch(() => undefined);
    return hashes.map((hash) => this.index.has(hash));
  }

  /** One run at a time; callers arriving meanwhile share it. */
  catchUp(): Promise<void> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<void> {
    const startedAtMs = performance.now();
    const bounds = boundsOf(await this.reader.jsm.streams.info(this.reader.stream));
    if (bounds.firstSeq > this.forgottenBelow) {
      // Retention (by any node) purged a prefix: its keys may be stored again, as in the file journal.
      this.index.deleteBelow(bounds.firstSeq);
      this.forgottenBelow = bounds.firstSeq;
    }
    for (let from = Math.max(this.index.cursorSeq() + 1, bounds.firstSeq); from <= bounds.lastSeq;) {
      const end = Math.min(bounds.lastSeq, from + CATCH_UP_ENTRIES - 1);
      await this.readKeys(from, end);
      this.index.flush(end);
      from = end + 1;
    }
    if (this.index.cursorSeq() < bounds.lastSeq) this.index.flush(bounds.lastSeq);
    this.caughtUpAtMs = startedAtMs;
  }

  /** Headers only (no payloads) of `from..end`, through one ordered consumer; must reach `end`. */
  private async readKeys(from: number, end: number): Promise<void> {
    const consumer = await this.reader.js.consumers.get(this.reader.stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
      headers_only: true,
    });
    let last = from - 1;
    try {
      const messages = await consumer.fetch({ max_messages: end - from + 1, expires: this.reader.timeoutMs });
      for await (const message of messages) {
        if (message.seq > end) break;
        const id = message.headers?.get(MSG_ID);
        if (id !== undefined && HASH_HEX.test(id)) this.index.addDurable(Buffer.from(id, "hex"), message.seq);
        last = message.seq;
        if (last === end) break;
      }
    } finally {
      await consumer.delete().catch(() => false);
    }
    if (last !== end) throw new Error(`The journal stream's keys ${from}..${end} were not all delivered.`);
  }

  /** The key of an entry this node just stored: known now, without waiting for the next catch-up. */
  remember(hash: Buffer, seq: number): void {
    this.index.addDurable(hash, seq);
  }

  async close(): Promise<void> {
    await this.running?.catch(() => undefined);
    this.index.close();
  }
}
