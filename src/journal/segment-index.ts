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

export class SegmentIndex {
  readonly blocks: BlockLocation[] = [];
  /** Bytes of complete groups; the file is never longer after recovery. */
  sizeBytes = 0;

  constructor(
    readonly firstSeq: number,
    readonly path: string,
  ) {}

  /** Seq the next appended entry in this segment gets. */
  get nextSeq(): number {
    const last = this.blocks.at(-1);
    return last === undefined ? this.firstSeq : last.firstSeq + last.entryCount;
  }

  get entryCount(): number {
    return this.nextSeq - this.firstSeq;
  }

  get appendedAtMsMax(): number {
    return this.blocks.reduce((max, block) => Math.max(max, block.appendedAtMs), 0);
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
      const block = this.blocks[mid]!;
      if (seq < block.firstSeq) high = mid - 1;
      else if (seq >= block.firstSeq + block.entryCount) low = mid + 1;
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
