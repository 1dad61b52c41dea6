import type { JournalEntry } from "./journal.js";
import { inflatePayload } from "./block-codec.js";
import {
  blockChecksumValid,
  decodePayload,
  HEADER_BYTES,
  indexPayload,
  parseHeader,
  payloadText,
  type BlockHeader,
  type PayloadIndex,
} from "./block-format.js";
import { invariant } from "./invariant.js";
import type { BlockLocation, SegmentIndex } from "./segment-index.js";
import { readExactly } from "./segment-scan.js";
import type { SegmentStore } from "./segment-store.js";

export interface DecodedBlock {
  readonly entries: readonly JournalEntry[];
  readonly keyHashes: ReadonlyArray<Buffer | null>;
}

/**
 * A block as random reads keep it: the inflated payload (outside V8's heap) and where its entries
 * are. Only the entries a read asks for become strings, so a page of 50 records from 50 blocks puts
 * ~50 records on the heap, not 1,600 (the cache's churn of whole decoded blocks drove frequent
 * mark-compacts: decision 0003, 2026-12-08).
 */
interface PayloadBlock {
  readonly firstSeq: number;
  readonly appendedAtMs: number;
  readonly payload: Buffer;
  readonly index: PayloadIndex;
}

export interface BlockReaderOptions {
  /** Decoded blocks kept for random reads. */
  readonly cacheBlocksMax: number;
  /** Random reads inflate blocks up to this many uncompressed bytes synchronously (block-codec.ts). */
  readonly syncInflateBytesMax: number;
}

/**
 * Reads, verifies and decompresses blocks. Random reads (readMany) go through an LRU of inflated
 * blocks because an index page often points at neighbouring seqs; sequential reads (consumers)
 * bypass it so that one catching-up consumer does not evict everyone's hot blocks.
 */
export class BlockReader {
  private readonly cache = new Map<number, Promise<PayloadBlock>>();

  constructor(
    private readonly store: SegmentStore,
    private readonly options: BlockReaderOptions,
  ) {}

  /** A whole block, read past the cache (sequential reads). */
  async load(segment: SegmentIndex, blockIndex: number): Promise<DecodedBlock> {
    const location = segment.blocks.get(blockIndex);
    invariant(location !== undefined, `No block ${blockIndex} in segment ${segment.firstSeq}.`);
    return decodeBlock(await this.readBytes(segment, location), location, segment.path, -1);
  }

  /** The entries of a block whose seqs are in `wanted`, through the cache (random reads). */
  async entries(segment: SegmentIndex, blockIndex: number, wanted: ReadonlySet<number>): Promise<JournalEntry[]> {
    const block = await this.cachedBlock(segment, blockIndex);
    const out: JournalEntry[] = [];
    for (let i = 0; i < block.index.keyHashes.length; i++) {
      const seq = block.firstSeq + i;
      if (wanted.has(seq))
        out.push(
          entryOf(seq, block.appendedAtMs, payloadText(block.payload, block.index, i), block.index.provenance[i]!),
        );
    }
    return out;
  }

  private cachedBlock(segment: SegmentIndex, blockIndex: number): Promise<PayloadBlock> {
    const location = segment.blocks.get(blockIndex);
    invariant(location !== undefined, `No block ${blockIndex} in segment ${segment.firstSeq}.`);
    const cached = this.cache.get(location.firstSeq);
    if (cached !== undefined) {
      this.cache.delete(location.firstSeq);
      this.cache.set(location.firstSeq, cached);
      return cached;
    }
    const loading = this.readPayloadBlock(segment, location);
    this.cache.set(location.firstSeq, loading);
    loading.catch(() => this.cache.delete(location.firstSeq));
    while (this.cache.size > this.options.cacheBlocksMax) this.cache.delete(this.cache.keys().next().value!);
    return loading;
  }

  /** Drops cached blocks of a deleted segment. */
  forget(segment: SegmentIndex): void {
    for (const block of segment.blocks) this.cache.delete(block.firstSeq);
  }

  private async readPayloadBlock(segment: SegmentIndex, location: BlockLocation): Promise<PayloadBlock> {
    const bytes = await this.readBytes(segment, location);
    const { header, payload } = await inflateBlock(bytes, location, segment.path, this.options.syncInflateBytesMax);
    return {
      firstSeq: header.firstSeq,
      appendedAtMs: header.appendedAtMs,
      payload,
      index: indexPayload(payload, header.entryCount, header.hasProvenance),
    };
  }

  private async readBytes(segment: SegmentIndex, location: BlockLocation): Promise<Buffer> {
    const bytes = Buffer.allocUnsafe(location.bytes);
    await readExactly(await this.store.readHandle(segment), bytes, location.offset);
    return bytes;
  }
}

function entryOf(
  seq: number,
  appendedAtMs: number,
  json: string,
  provenance: JournalEntry["provenance"] | null,
): JournalEntry {
  return provenance === null || provenance === undefined
    ? { seq, appendedAtMs, json }
    : { seq, appendedAtMs, json, provenance };
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
  const { header, payload } = await inflateBlock(bytes, location, path, syncInflateBytesMax);
  const decoded = decodePayload(payload, header.entryCount, header.hasProvenance);
  const entries = decoded.map((entry, i) =>
    entryOf(header.firstSeq + i, header.appendedAtMs, entry.json, entry.provenance),
  );
  return { entries, keyHashes: decoded.map((entry) => entry.keyHash) };
}

/** Verifies a block's bytes against its index entry (header, seq, count, CRC) and inflates its payload. */
async function inflateBlock(
  bytes: Buffer,
  location: BlockLocation,
  path: string,
  syncInflateBytesMax: number,
): Promise<{ header: BlockHeader; payload: Buffer }> {
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
  return { header, payload };
}
