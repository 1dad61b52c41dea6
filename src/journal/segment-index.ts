import { crc32 } from "node:zlib";
import { invariant } from "./invariant.js";

/**
 * In-memory block index of one segment: where each block starts and which seqs it holds. About 40
 * bytes per block, so 10M entries at 128 entries/block cost ~3 MB. Rebuilt on open from sidecars
 * (sealed segments) or by scanning (the active segment).
 */
export interface BlockLocation {
  readonly firstSeq: number;
  readonly offset: number;
  /** Header plus compressed payload. */
  readonly bytes: number;
  readonly entryCount: number;
  readonly appendedAtMs: number;
}

/** Numbers per block in a BlockTable: firstSeq, offset, bytes, entryCount, appendedAtMs. */
const BLOCK_FIELDS = 5;

/**
 * A segment's block locations packed in one Float64Array: a 10M-event journal has ~300,000 blocks,
 * and as objects they were most of the server's V8 heap, which every mark-compact walks (decision
 * 0003, 2026-12-08). `get` builds a short-lived BlockLocation for the caller.
 */
class BlockTable implements Iterable<BlockLocation> {
  private values = new Float64Array(BLOCK_FIELDS * 16);
  private count = 0;

  get length(): number {
    return this.count;
  }

  get(index: number): BlockLocation | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) return undefined;
    const at = index * BLOCK_FIELDS;
    const values = this.values;
    return {
      firstSeq: values[at]!,
      offset: values[at + 1]!,
      bytes: values[at + 2]!,
      entryCount: values[at + 3]!,
      appendedAtMs: values[at + 4]!,
    };
  }

  /** The block's first seq and entry count without building a BlockLocation (findBlock's probe). */
  firstSeqOf(index: number): number {
    return this.values[index * BLOCK_FIELDS]!;
  }

  entryCountOf(index: number): number {
    return this.values[index * BLOCK_FIELDS + 3]!;
  }

  push(block: BlockLocation): void {
    if ((this.count + 1) * BLOCK_FIELDS > this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    const at = this.count * BLOCK_FIELDS;
    this.values[at] = block.firstSeq;
    this.values[at + 1] = block.offset;
    this.values[at + 2] = block.bytes;
    this.values[at + 3] = block.entryCount;
    this.values[at + 4] = block.appendedAtMs;
    this.count++;
  }

  *[Symbol.iterator](): Iterator<BlockLocation> {
    for (let i = 0; i < this.count; i++) yield this.get(i)!;
  }
}

export class SegmentIndex {
  readonly blocks = new BlockTable();
  /** Bytes of complete groups; the file is never longer after recovery. */
  sizeBytes = 0;

  constructor(
    readonly firstSeq: number,
    readonly path: string,
  ) {}

  /** Seq the next appended entry in this segment gets. */
  get nextSeq(): number {
    const last = this.blocks.length - 1;
    return last < 0 ? this.firstSeq : this.blocks.firstSeqOf(last) + this.blocks.entryCountOf(last);
  }

  get entryCount(): number {
    return this.nextSeq - this.firstSeq;
  }

  get appendedAtMsMax(): number {
    let max = 0;
    for (const block of this.blocks) max = Math.max(max, block.appendedAtMs);
    return max;
  }

  push(block: BlockLocation): void {
    invariant(block.firstSeq === this.nextSeq, `Seq gap: block starts at ${block.firstSeq}, expected ${this.nextSeq}.`);
    invariant(
      block.offset === this.sizeBytes,
      `Block offset ${block.offset} is not the segment end ${this.sizeBytes}.`,
    );
    this.blocks.push(block);
    this.sizeBytes += block.bytes;
  }

  /** The index of the block holding `seq`, or -1. */
  findBlock(seq: number): number {
    let low = 0;
    let high = this.blocks.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const firstSeq = this.blocks.firstSeqOf(mid);
      if (seq < firstSeq) high = mid - 1;
      else if (seq >= firstSeq + this.blocks.entryCountOf(mid)) low = mid + 1;
      else return mid;
    }
    return -1;
  }
}

const SIDECAR_MAGIC = 0x58444943; // "CIDX"
const SIDECAR_VERSION = 1;
const SIDECAR_HEADER_BYTES = 24;
const SIDECAR_BLOCK_BYTES = 32;

/** Serialises a sealed segment's index: header, one fixed-size record per block, trailing CRC32. */
export function encodeSidecar(index: SegmentIndex): Buffer {
  const out = Buffer.alloc(SIDECAR_HEADER_BYTES + index.blocks.length * SIDECAR_BLOCK_BYTES + 4);
  out.writeUInt32LE(SIDECAR_MAGIC, 0);
  out.writeUInt32LE(SIDECAR_VERSION, 4);
  out.writeUInt32LE(index.blocks.length, 8);
  out.writeUInt32LE(0, 12);
  out.writeDoubleLE(index.firstSeq, 16);
  let at = SIDECAR_HEADER_BYTES;
  for (const block of index.blocks) {
    out.writeDoubleLE(block.firstSeq, at);
    out.writeDoubleLE(block.offset, at + 8);
    out.writeUInt32LE(block.bytes, at + 16);
    out.writeUInt32LE(block.entryCount, at + 20);
    out.writeDoubleLE(block.appendedAtMs, at + 24);
    at += SIDECAR_BLOCK_BYTES;
  }
  out.writeUInt32LE(crc32(out.subarray(0, at)), at);
  return out;
}

/** Parses a sidecar; null when it is damaged or does not describe `firstSeq` (the caller rescans). */
export function decodeSidecar(bytes: Buffer, firstSeq: number, path: string): SegmentIndex | null {
  if (bytes.length < SIDECAR_HEADER_BYTES + 4) return null;
  const blockCount = bytes.readUInt32LE(8);
  const end = SIDECAR_HEADER_BYTES + blockCount * SIDECAR_BLOCK_BYTES;
  if (bytes.readUInt32LE(0) !== SIDECAR_MAGIC || bytes.readUInt32LE(4) !== SIDECAR_VERSION) return null;
  if (bytes.length !== end + 4 || crc32(bytes.subarray(0, end)) !== bytes.readUInt32LE(end)) return null;
  if (bytes.readDoubleLE(16) !== firstSeq) return null;
  const index = new SegmentIndex(firstSeq, path);
  for (let at = SIDECAR_HEADER_BYTES; at < end; at += SIDECAR_BLOCK_BYTES) {
    index.push({
      firstSeq: bytes.readDoubleLE(at),
      offset: bytes.readDoubleLE(at + 8),
      bytes: bytes.readUInt32LE(at + 16),
      entryCount: bytes.readUInt32LE(at + 20),
      appendedAtMs: bytes.readDoubleLE(at + 24),
    });
  }
  return index;
}
