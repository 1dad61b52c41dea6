import type { FileHandle } from "node:fs/promises";
import { HEADER_BYTES, blockChecksumValid, parseHeader } from "./block-format.js";
import { SegmentIndex, type BlockLocation } from "./segment-index.js";

export interface SegmentScan {
  /** Blocks of complete groups only. */
  readonly index: SegmentIndex;
  /** Current file length; longer than index.sizeBytes when the tail is torn. */
  readonly fileBytes: number;
}

/** Upper bound on one block's compressed payload: a header claiming more is garbage, not a block. */
const COMPRESSED_BYTES_MAX = 64 * 1024 * 1024;

/**
 * Validates a segment from its start: every block's checksum and seq continuity. Stops at the first
 * block that is short, damaged or out of sequence, and keeps only blocks up to the last group end,
 * because a group (one write + fsync) is the unit of atomicity: a group missing its end block was
 * never acknowledged.
 */
export async function scanSegment(handle: FileHandle, firstSeq: number, path: string): Promise<SegmentScan> {
  const fileBytes = (await handle.stat()).size;
  const index = new SegmentIndex(firstSeq, path);
  const pending: BlockLocation[] = [];
  let offset = 0;
  let nextSeq = firstSeq;
  const headerBytes = Buffer.alloc(HEADER_BYTES);
  while (offset + HEADER_BYTES <= fileBytes) {
    await readExactly(handle, headerBytes, offset);
    const header = parseHeader(headerBytes);
    if (header === null || header.firstSeq !== nextSeq) break;
    if (header.compressedBytes > COMPRESSED_BYTES_MAX) break;
    const blockBytes = HEADER_BYTES + header.compressedBytes;
    if (offset + blockBytes > fileBytes) break;
    const compressed = Buffer.alloc(header.compressedBytes);
    await readExactly(handle, compressed, offset + HEADER_BYTES);
    if (!blockChecksumValid(header, headerBytes, compressed)) break;
    const { entryCount, appendedAtMs } = header;
    pending.push({ firstSeq: header.firstSeq, offset, bytes: blockBytes, entryCount, appendedAtMs });
    if (header.groupEnd) for (const block of pending.splice(0)) index.push(block);
    offset += blockBytes;
    nextSeq += entryCount;
  }
  return { index, fileBytes };
}

export async function readExactly(handle: FileHandle, target: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
    if (bytesRead === 0) throw new Error(`Unexpected end of file at ${position + done}.`);
    done += bytesRead;
  }
}
