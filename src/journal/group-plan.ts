import type { JournalAppendItem } from "./journal.js";
import { compressPayloads } from "./block-codec.js";
import {
  blockChecksumValid,
  encodeBlock,
  encodePayload,
  hasProvenance,
  HEADER_BYTES,
  parseHeader,
} from "./block-format.js";
import type { PayloadEntry } from "./block-format.js";
import { hashDedupKey } from "./dedup-store.js";
import { invariant } from "./invariant.js";
import type { BlockLocation } from "./segment-index.js";

export interface GroupPlan {
  /** Per request, per item: the assigned seq or null for a duplicate. */
  readonly seqsPerRequest: Array<Array<number | null>>;
  /** Entries to store, in seq order starting at the group's first seq. */
  readonly entries: PayloadEntry[];
  /** The items stored, parallel to `entries` (append observers get them). */
  readonly items: JournalAppendItem[];
}

/**
 * Assigns seqs to the items of all requests in one group and drops duplicates: keys already in the
 * journal (`isKnown`) and keys seen earlier in this group. Runs synchronously inside the writer's
 * critical section, so two concurrent appends of one key cannot both be stored.
 */
export function planGroup(
  requests: ReadonlyArray<readonly JournalAppendItem[]>,
  firstSeq: number,
  isKnown: (hash: Buffer) => boolean,
): GroupPlan {
  const seenInGroup = new Set<string>();
  const entries: PayloadEntry[] = [];
  const stored: JournalAppendItem[] = [];
  const seqsPerRequest = requests.map((items) =>
    items.map((item) => {
      let keyHash: Buffer | null = null;
      if (item.dedupKey !== undefined) {
        keyHash = hashDedupKey(item.dedupKey);
        const id = keyHash.toString("latin1");
        if (seenInGroup.has(id) || isKnown(keyHash)) return null;
        seenInGroup.add(id);
      }
      entries.push({ json: item.json, keyHash, provenance: item.provenance ?? null });
      stored.push(item);
      return firstSeq + entries.length - 1;
    }),
  );
  return { seqsPerRequest, entries, items: stored };
}

export interface EncodedGroup {
  /** Complete blocks (header + compressed payload), in seq order; the last carries the group-end flag. */
  readonly buffers: Buffer[];
  readonly firstSeq: number;
  readonly entryCounts: number[];
  readonly appendedAtMs: number;
}

export interface EncodeOptions {
  readonly firstSeq: number;
  readonly appendedAtMs: number;
  readonly blockEntriesMax: number;
  readonly compressionLevel: number;
  readonly dictionaryId: number;
}

/**
 * Splits a group into blocks and compresses them on the journal's compression thread. Only the
 * last block carries the group-end flag, which is what makes the group atomic on recovery. The
 * result does not depend on where it will be written, so the writer can encode the next group
 * while the previous one is being written and synced, and still roll the segment in between.
 */
export async function encodeGroup(entries: readonly PayloadEntry[], options: EncodeOptions): Promise<EncodedGroup> {
  const chunks: Array<readonly PayloadEntry[]> = [];
  for (let at = 0; at < entries.length; at += options.blockEntriesMax) {
    chunks.push(entries.slice(at, at + options.blockEntriesMax));
  }
  const payloads = chunks.map(encodePayload);
  // Read before the payloads are handed over (transferred) to the compression thread.
  const uncompressedBytes = payloads.map((payload) => payload.length);
  const compressed = await compressPayloads(payloads, options.compressionLevel, options.dictionaryId);
  const buffers: Buffer[] = [];
  let firstSeq = options.firstSeq;
  for (const [i, chunk] of chunks.entries()) {
    const meta = {
      firstSeq,
      entryCount: chunk.length,
      appendedAtMs: options.appendedAtMs,
      uncompressedBytes: uncompressedBytes[i]!,
      groupEnd: i === chunks.length - 1,
      dictionaryId: options.dictionaryId,
      hasProvenance: hasProvenance(chunk),
    };
    const buffer = encodeBlock(meta, compressed[i]!);
    assertBlockReadable(buffer, firstSeq);
    buffers.push(buffer);
    firstSeq += chunk.length;
  }
  return {
    buffers,
    firstSeq: options.firstSeq,
    entryCounts: chunks.map((chunk) => chunk.length),
    appendedAtMs: options.appendedAtMs,
  };
}

/** The index entries of an encoded group written at byte `offset` of its segment. */
export function locateGroup(group: EncodedGroup, offset: number): BlockLocation[] {
  let firstSeq = group.firstSeq;
  let at = offset;
  return group.buffers.map((buffer, i) => {
    const entryCount = group.entryCounts[i]!;
    const block = { firstSeq, offset: at, bytes: buffer.length, entryCount, appendedAtMs: group.appendedAtMs };
    firstSeq += entryCount;
    at += buffer.length;
    return block;
  });
}

/** Checksum on write (paired with the check on read): the bytes we write must parse and verify. */
function assertBlockReadable(buffer: Buffer, firstSeq: number): void {
  const headerBytes = buffer.subarray(0, HEADER_BYTES);
  const header = parseHeader(headerBytes);
  invariant(header !== null, "Encoded block header does not parse.");
  invariant(header.firstSeq === firstSeq, "Encoded block has the wrong first seq.");
  invariant(blockChecksumValid(header, headerBytes, buffer.subarray(HEADER_BYTES)), "Encoded block checksum fails.");
}
