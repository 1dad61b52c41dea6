import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type StoredMsg } from "@nats-io/jetstream";
import type { JsMsg } from "@nats-io/jetstream";
import { decodeEntry } from "./jetstream-entry.js";
import type { JournalEntry } from "./journal.js";

/** The stream a JetStream journal reads, and how long one request may take. */
export interface StreamReader {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly timeoutMs: number;
}

/**
 * Ranges up to this size are read with pipelined gets by sequence (one request each, all in flight
 * at once); longer ones through one ordered consumer, whose setup costs about what a few gets do
 * and which then streams the range in one pull.
 */
const GET_RANGE_MAX = 32;
/** Gets in flight at once: enough to hide the round trip, few enough not to flood the server's API queue. */
const GETS_IN_FLIGHT = 128;

function fromStored(message: StoredMsg): JournalEntry {
  return decodeEntry({
    seq: message.seq,
    headers: message.header,
    data: message.data,
    storedAtMs: message.time.getTime(),
  });
}

function fromDelivered(message: JsMsg): JournalEntry {
  return decodeEntry({
    seq: message.seq,
    headers: message.headers,
    data: message.data,
    storedAtMs: message.time.getTime(),
  });
}

/**
 * Gets each seq from the stream leader (not a direct get, which any replica answers, possibly
 * before it has caught up: a reader must see every acknowledged entry). Seqs retention removed are absent.
 */
export async function getSeqs(reader: StreamReader, seqs: readonly number[]): Promise<Map<number, JournalEntry>> {
  const out = new Map<number, JournalEntry>();
  for (let at = 0; at < seqs.length; at += GETS_IN_FLIGHT) {
    const batch = seqs.slice(at, at + GETS_IN_FLIGHT);
    const found = await Promise.all(batch.map((seq) => reader.jsm.streams.getMessage(reader.stream, { seq })));
    for (const message of found) if (message !== null) out.set(message.seq, fromStored(message));
  }
  return out;
}

/** Entries `from..end` in order (end at most the stream's last seq); the ones retention removed are left out. */
export async function readStreamRange(reader: StreamReader, from: number, end: number): Promise<JournalEntry[]> {
  if (end < from) return [];
  const count = end - from + 1;
  if (count <= GET_RANGE_MAX) {
    const seqs = Array.from({ length: count }, (_, i) => from + i);
    const found = await getSeqs(reader, seqs);
    return seqs.flatMap((seq) => found.get(seq) ?? []);
  }
  return consumeRange(reader, from, end);
}

async function consumeRange(reader: StreamReader, from: number, end: number): Promise<JournalEntry[]> {
  const consumer = await reader.js.consumers.get(reader.stream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
  });
  const out: JournalEntry[] = [];
  try {
    const messages = await consumer.fetch({ max_messages: end - from + 1, expires: reader.timeoutMs });
    for await (const message of messages) {
      if (message.seq > end) break;
      out.push(fromDelivered(message));
      if (message.seq === end) break;
    }
  } finally {
    // The server would drop it after its inactivity threshold; deleting now keeps the consumer count flat.
    await consumer.delete().catch(() => false);
  }
  return out;
}
