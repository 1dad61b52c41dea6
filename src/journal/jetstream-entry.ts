import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import { parseProvenance, provenanceText, PROVENANCE_BYTES_MAX } from "../model/provenance.js";
import type { JournalAppendItem, JournalEntry } from "./journal.js";

/**
 * How a journal entry is one JetStream message (docs/decisions/0010-jetstream-journal.md): the record's
 * JSON is the payload, byte for byte; the envelope rides in headers, so it is never inside the record.
 */
const APPENDED_AT = "Cairn-Appended-At";
const PROVENANCE = "Cairn-Provenance";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function entryHeaders(item: JournalAppendItem, appendedAtMs: number): MsgHdrs {
  const out = natsHeaders();
  out.set(APPENDED_AT, String(appendedAtMs));
  if (item.provenance !== undefined) {
    const text = provenanceText(item.provenance);
    // Same bound as the file journal: a longer value is a caller's bug, never data to store.
    if (Buffer.byteLength(text) > PROVENANCE_BYTES_MAX) throw new RangeError("Provenance exceeds its size limit.");
    out.set(PROVENANCE, text);
  }
  return out;
}

export function entryPayload(item: JournalAppendItem): Uint8Array {
  return encoder.encode(item.json);
}

/** What a stored message (direct get or consumer delivery) holds, whichever API delivered it. */
export interface StoredMessage {
  readonly seq: number;
  readonly headers: MsgHdrs | undefined;
  readonly data: Uint8Array;
  /** The server's store time: the fallback for a message some other publisher put on the subject. */
  readonly storedAtMs: number;
}

export function decodeEntry(message: StoredMessage): JournalEntry {
  const appendedAt = Number(message.headers?.get(APPENDED_AT));
  const entry: JournalEntry = {
    seq: message.seq,
    appendedAtMs: Number.isSafeInteger(appendedAt) && appendedAt > 0 ? appendedAt : message.storedAtMs,
    json: decoder.decode(message.data),
  };
  const text = message.headers?.get(PROVENANCE);
  const provenance = text ? parseProvenance(text) : undefined;
  return provenance === undefined ? entry : { ...entry, provenance };
}
