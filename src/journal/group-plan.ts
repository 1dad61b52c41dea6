import { promisify } from "node:util";
import { deflateRaw } from "node:zlib";
import type { JournalAppendItem } from "./journal.js";
import { blockChecksumValid, encodeBlock, encodePayload, HEADER_BYTES, parseHeader } from "./block-format.js";
import type { PayloadEntry } from "./block-format.js";
import { hashDedupKey } from "./dedup-store.js";
import { invariant } from "./invariant.js";
import type { BlockLocation } from "./segment-index.js";

const deflateRawAsync = promisify(deflateRaw);

export interface GroupPlan {
  /** Per request, per item: the assigned seq or null for a duplicate. */
  readonly seqsPerRequest: Array<Array<number | null>>;
  /** Entries to store, in seq order starting at the group's first seq. */
  readonly entries: PayloadEntry[];
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
  const seqsPerRequest = requests.map((items) =>
    items.map((item) => {
      let keyHash: Buffer | null = null;
      if (item.dedupKey !== undefined) {
        keyHash = hashDedupKey(item.dedupKey);
        const id = keyHash.toString("latin1");
        if (seenInGroup.has(id) || isKnown(keyHash)) return null;
        seenInGroup.add(id);
      }
      entries.push({ json: item.json, keyHash });
      return firstSeq + entries.length - 1;
    }),
  );
  return { seqsPerRequest, entries };
}

export interface EncodedGroup {
  readonly buffers: Buffer[];
  readonly blocks: BlockLocation[];
}

export interface EncodeOptions {
  readonly firstSeq: number;
  readonly appendedAtMs: number;
  /** Byte offset in the segment where the group will be written. */
  readonly offset: number;
  readonly blockEntriesMax: number;
  readonly compressionLevel: number;
}

/**
 * Splits a group into blocks and compresses them concurrently on libuv's thread pool. Only the
 * last block carries the group-end flag, which is what makes the group atomic on recovery.
 */
export async function encodeGroup(entries: readonly PayloadEntry[], options: EncodeOptions): Promise<EncodedGroup> {
  const chunks: Array<readonly PayloadEntry[]> = [];
  for (let at = 0; at < entries.length; at += options.blockEntriesMax) {
    chunks.push(entries.slice(at, at + options.blockEntriesMax));
  }
  const payloads = chunks.map(encodePayload);
  const compressed = await Promise.all(
    // One output chunk per payload (default 16 KiB chunks cost a thread-pool round trip each).
    payloads.map((payload) =>
      deflateRawAsync(payload, { level: options.compressionLevel, chunkSize: payload.length + 1024 }),
    ),
  );
  const buffers: Buffer[] = [];
  const blocks: BlockLocation[] = [];
  let firstSeq = options.firstSeq;
  let offset = options.offset;
  for (const [i, chunk] of chunks.entries()) {
    const meta = {
      firstSeq,
      entryCount: chunk.length,
      appendedAtMs: options.appendedAtMs,
      uncompressedBytes: payloads[i]!.length,
      groupEnd: i === chunks.length - 1,
    };
    const buffer = encodeBlock(meta, compressed[i]!);
    assertBlockReadable(buffer, firstSeq);
    buffers.push(buffer);
    blocks.push({ firstSeq, offset, bytes: buffer.length, entryCount: chunk.length, appendedAtMs: meta.appendedAtMs });
    firstSeq += chunk.length;
    offset += buffer.length;
  }
  return { buffers, blocks };
}

/** Checksum on write (paired with the check on read): the bytes we write must parse and verify. */
function assertBlockReadable(buffer: Buffer, firstSeq: number): void {
  const headerBytes = buffer.subarray(0, HEADER_BYTES);
  const header = parseHeader(headerBytes);
  invariant(header !== null, "Encoded block header does not parse.");
  invariant(header.firstSeq === firstSeq, "Encoded block has the wrong first seq.");
  invariant(blockChecksumValid(header, headerBytes, buffer.subarray(HEADER_BYTES)), "Encoded block checksum fails.");
}
