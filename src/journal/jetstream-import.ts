import { jetstream, jetstreamManager, type PubAck } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { entryHeaders, entryPayload } from "./jetstream-entry.js";
import { getSeqs, type StreamReader } from "./jetstream-read.js";
import { boundsOf, ensureStream } from "./jetstream-stream.js";
import type { KeyedJournalEntry } from "./journal-read.js";
import type { JournalEntry } from "./journal.js";

/**
 * Copies journal entries into a JetStream journal stream at their own seqs (`cairn migrate
 * --to-cluster`, docs/decisions/0016-migrate-to-cluster.md): the stream's seq is the journal's seq
 * (decision 0010), so an entry keeps its seq only if the stream stores it there. nats-server 2.9
 * ignores `first_seq` in a stream config; a purge with `seq` on the empty stream moves its first seq
 * instead, and every publish says which seq it expects to follow (see `publish`), so the server
 * stores it at exactly its seq or refuses it (another publisher in between, or a copy that was
 * already done); every ack must name the entry's seq.
 */
export interface JetStreamImportOptions {
  readonly servers: string | readonly string[];
  readonly stream: string;
  readonly replicas: number;
  /** Default: the stream's name, as the journal's. */
  readonly subject?: string;
  /** As the journal opens the stream (JetStream's default 2 minutes). */
  readonly duplicateWindowMs?: number;
  readonly requestTimeoutMs?: number;
}

export interface StreamState {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly messages: number;
}

/** Publishes in flight at once: one round trip per batch, not per entry. */
const PUBLISH_BATCH = 256;

export class JetStreamImport {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly reader: StreamReader,
    private readonly subject: string,
  ) {}

  /** Connects and creates the stream as the journal would (same config), or checks the one there. */
  static async open(options: JetStreamImportOptions): Promise<JetStreamImport> {
    const timeoutMs = options.requestTimeoutMs ?? 10_000;
    const servers = typeof options.servers === "string" ? options.servers.split(",") : [...options.servers];
    const nc = await connect({ servers, name: "cairn-migrate", timeout: timeoutMs });
    try {
      const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
      const subject = options.subject ?? options.stream;
      await ensureStream(jsm, {
        stream: options.stream,
        subject,
        replicas: options.replicas,
        duplicateWindowMs: options.duplicateWindowMs ?? 120_000,
      });
      const reader = { js: jetstream(nc, { timeout: timeoutMs }), jsm, stream: options.stream, timeoutMs };
      return new JetStreamImport(nc, reader, subject);
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  async state(): Promise<StreamState> {
    const info = await this.reader.jsm.streams.info(this.reader.stream);
    return { ...boundsOf(info), messages: info.state.messages };
  }

  /** The entry stored at `seq`, or undefined. */
  async entryAt(seq: number): Promise<JournalEntry | undefined> {
    return (await getSeqs(this.reader, [seq])).get(seq);
  }

  /**
   * Makes the next publish land at `firstSeq`: on a stream holding no message, a purge with `seq`
   * sets its first seq there (last seq firstSeq − 1). Refused on a stream that holds messages.
   */
  async startAt(firstSeq: number): Promise<void> {
    const state = await this.state();
    if (state.messages !== 0) throw new Error(`The journal stream ${this.reader.stream} is not empty.`);
    if (state.lastSeq === firstSeq - 1) return;
    await this.reader.jsm.streams.purge(this.reader.stream, { seq: firstSeq });
    const after = await this.state();
    if (after.lastSeq !== firstSeq - 1)
      throw new Error(`The journal stream ${this.reader.stream} did not move to first seq ${firstSeq}.`);
  }

  /**
   * Publishes `entries` (consecutive seqs, the first one the stream's next) at their seqs, with
   * their appended-at time, provenance and dedup key as the journal writes them; resolves once every
   * one is stored. Rejects when the server refuses one (the last seq it expected did not hold): what
   * was stored before it stays, and `state()` says where to go on.
   *
   * The guard is `Nats-Expected-Last-Subject-Sequence` (the journal's stream has one subject, so the
   * subject's last seq is the stream's): nats-server 2.9 checks `Nats-Expected-Last-Sequence` against
   * a counter that a purge does not move (after the purge that set the first seq to 41 it still
   * expects 0, then 1 once entry 41 is stored), so that header cannot guard a copy that starts past
   * seq 1. The subject's last seq is read from the store itself: 0 on the empty stream, then each
   * stored seq. Every ack must also name the entry's seq.
   */
  async publish(entries: readonly KeyedJournalEntry[]): Promise<void> {
    let rest = entries;
    if (rest.length > 0 && (await this.state()).messages === 0) {
      const [first] = rest;
      const [settled] = await Promise.allSettled([this.send(first!, 0)]);
      checkAck(settled!, first!.entry.seq);
      rest = rest.slice(1);
    }
    for (let at = 0; at < rest.length; at += PUBLISH_BATCH) {
      const batch = rest.slice(at, at + PUBLISH_BATCH);
      const settled = await Promise.allSettled(batch.map((item) => this.send(item, item.entry.seq - 1)));
      settled.forEach((result, i) => checkAck(result, batch[i]!.entry.seq));
    }
  }

  private send({ entry, keyHash }: KeyedJournalEntry, expectedLastSeq: number): Promise<PubAck> {
    return this.reader.js.publish(this.subject, entryPayload(entry), {
      headers: entryHeaders(entry, entry.appendedAtMs),
      timeout: this.reader.timeoutMs,
      expect: { streamName: this.reader.stream, lastSubjectSequence: expectedLastSeq },
      ...(keyHash === null ? {} : { msgID: keyHash.toString("hex") }),
    });
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}

function checkAck(result: PromiseSettledResult<PubAck>, seq: number): void {
  if (result.status === "rejected") {
    const reason = result.reason instanceof Error ? result.reason.message : String(result.reason);
    throw new Error(`JetStream did not store journal entry ${seq}: ${reason}`);
  }
  // A duplicate ack names where the key is already stored: elsewhere than `seq` means two entries share a key.
  if (result.value.seq !== seq)
    throw new Error(`JetStream stored journal entry ${seq} at seq ${result.value.seq}; the copy stops.`);
}
