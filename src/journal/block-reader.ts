import type { JournalEntry } from "./journal.js";
import { inflatePayload } from "./block-codec.js";
import { blockChecksumValid, decodePayload, HEADER_BYTES, parseHeader } from "./block-format.js";
import { invariant } from "./invariant.js";
import type { BlockLocation, SegmentIndex } from "./segment-index.js";
import { readExactly } from "./segment-scan.js";
import type { SegmentStore } from "./segment-store.js";

export interface DecodedBlock {
  readonly entries: readonly JournalEntry[];
  readonly keyHashes: ReadonlyArray<Buffer | null>;
}

export interface BlockReaderOptions {
  /** Decoded blocks kept for random reads. */
  readonly cacheBlocksMax: number;
  /** Random reads inflate blocks up to this many uncompressed bytes synchronously (block-codec.ts). */
  readonly syncInflateBytesMax: number;
}

/**
 * Reads, verifies and decompresses blocks. Random reads (readMany) go through an LRU of decoded
 * blocks because an index page often points at neighbouring seqs; sequential reads (consumers)
 * bypass it so that one catching-up consumer does not evict everyone's hot blocks.
 */
export class BlockReader {
  private readonly cache = new Map<number, Promise<DecodedBlock>>();

  constructor(
    private readonly store: SegmentStore,
    private readonly options: BlockReaderOptions,
  ) {}

  load(segment: SegmentIndex, blockIndex: number, useCache: boolean): Promise<DecodedBlock> {
    const block = segment.blocks[blockIndex];
    invariant(block !== undefined, `No block ${blockIndex} in segment ${segment.firstSeq}.`);
    const cached = this.cache.get(block.firstSeq);
    if (cached !== undefined) {
      this.cache.delete(block.firstSeq);
      this.cache.set(block.firstSeq, cached);
      return cached;
    }
    const loading = this.readBlock(segment, blockIndex, useCache);
    if (!useCache) return loading;
    this.cache.set(block.firstSeq, loading);
    loading.catch(() => this.cache.delete(block.firstSeq));
    while (this.cache.size > this.options.cacheBlocksMax) this.cache.delete(this.cache.keys().next().value!);
    return loading;
  }

  /** Drops cached blocks of a deleted segment. */
  forget(segment: SegmentIndex): void {
    for (const block of segment.blocks) this.cache.delete(block.firstSeq);
  }

  private async readBlock(segment: SegmentIndex, blockIndex: number, random: boolean): Promise<DecodedBlock> {
    const location = segment.blocks[blockIndex]!;
    const bytes = Buffer.allocUnsafe(location.bytes);
    await readExactly(await this.store.readHandle(segment), bytes, location.offset);
    return decodeBlock(bytes, location, segment.path, random ? this.options.syncInflateBytesMax : -1);
  }
}

/**
 * Verifies a block's bytes against its index entry (header, seq, count, CRC), inflates and splits it.
 * Blocks up to `syncInflateBytesMax` uncompressed are inflated on the calling thread (-1: never).
 * Shared by the journal's own reader and the event-history worker's (journal-block-source.ts).
 */
export async function decodeBlock(
  bytes: Buffer,
  location: BlockLocation,
  path: string,
  syncInflateBytesMax: number,
): Promise<DecodedBlock> {
  const headerBytes = bytes.subarray(0, HEADER_BYTES);
  const header = parseHeader(headerBytes);
  invariant(header !== null, `Damaged block header at ${path}:${location.offset}.`);
  invariant(header.firstSeq === location.firstSeq, `Block at ${path}:${location.offset} has the wrong seq.`);
  invariant(header.entryCount === location.entryCount, `Block at ${path}:${location.offset} has the wrong count.`);
  const compressed = bytes.subarray(HEADER_BYTES);
  invariant(blockChecksumValid(header, headerBytes, compressed), `Checksum mismatch at ${path}:${location.offset}.`);
  const sync = header.uncompressedBytes <= syncInflateBytesMax;
  const payload = await inflatePayload(
    { compressed, uncompressedBytes: header.uncompressedBytes, dictionaryId: header.dictionaryId },
    sync,
  );
  invariant(payload.length === header.uncompressedBytes, `Block at ${path}:${location.offset} inflates wrongly.`);
  const decoded = decodePayload(payload, header.entryCount, header.hasProvenance);
  const entries = decoded.map((entry, i): JournalEntry =>
    entry.provenance === null
      ? { seq: header.firstSeq + i, appendedAtMs: header.appendedAtMs, json: entry.json }
      : { seq: header.firstSeq + i, appendedAtMs: header.appendedAtMs, json: entry.json, provenance: entry.provenance },
  );
  return { entries, keyHashes: decoded.map((entry) => entry.keyHash) };
}
