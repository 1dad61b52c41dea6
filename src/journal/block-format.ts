import { crc32 } from "node:zlib";
import { invariant } from "./invariant.js";

/**
 * On-disk block format. A segment file is a sequence of blocks; each block holds up to
 * `blockEntriesMax` consecutive entries, compressed together with a preset dictionary
 * (block-dictionary.ts), so that a small block (32 entries, ~40 KB raw) compresses about as well as
 * a large one and a random read inflates little (docs/decisions/0004-journal-block-compression.md).
 *
 * Header (little-endian, HEADER_BYTES):
 *   0 magic u32 | 4 version u8 | 5 flags u8 (bit 0: group end) | 6 dictionary id u8 | 7 reserved u8 | 8 firstSeq u64
 *   16 entryCount u32 | 20 appendedAtMs u64 | 28 uncompressedBytes u32 | 32 compressedBytes u32
 *   36 crc32 u32 over header bytes [0, 36) followed by the compressed payload
 *
 * The uncompressed payload is columnar (random key hashes would otherwise sit between JSON texts
 * and break deflate's back-references): entryCount flag bytes (1 = has key hash), the key hashes
 * (KEY_HASH_BYTES each, only for flagged entries), entryCount u32 JSON byte lengths, the JSON texts.
 */
const BLOCK_MAGIC = 0x4e524a43; // "CJRN" read as little-endian bytes.
/**
 * Still 1 although byte 6 now names a dictionary: blocks written before had 0 there (no dictionary)
 * and read unchanged, and a build that predates dictionaries, opened on newer data, keeps the blocks
 * (their CRC is valid) and fails loudly when it inflates one. A version bump would instead make it
 * treat the first new block as a torn tail and truncate acknowledged data.
 */
const BLOCK_VERSION = 1;
export const HEADER_BYTES = 40;
export const KEY_HASH_BYTES = 16;
const CRC_OFFSET = 36;
const FLAG_GROUP_END = 1;

export interface BlockHeader {
  readonly firstSeq: number;
  readonly entryCount: number;
  readonly appendedAtMs: number;
  readonly uncompressedBytes: number;
  readonly compressedBytes: number;
  readonly groupEnd: boolean;
  /** Preset dictionary the payload was deflated with; DICTIONARY_NONE (0) in blocks written before it existed. */
  readonly dictionaryId: number;
  readonly crc: number;
}

export interface PayloadEntry {
  readonly json: string;
  /** KEY_HASH_BYTES bytes, or null for an entry stored without a dedup key. */
  readonly keyHash: Buffer | null;
}

export function encodePayload(entries: readonly PayloadEntry[]): Buffer {
  // Byte lengths first, then each text written straight into the payload: no buffer per entry.
  const lengths = entries.map((entry) => Buffer.byteLength(entry.json, "utf8"));
  const keyCount = entries.filter((entry) => entry.keyHash !== null).length;
  const textBytes = lengths.reduce((sum, length) => sum + length, 0);
  // Never from the shared pool: the journal hands payloads to its compression thread by transfer.
  const out = Buffer.allocUnsafeSlow(entries.length * 5 + keyCount * KEY_HASH_BYTES + textBytes);
  let at = 0;
  for (const entry of entries) out[at++] = entry.keyHash === null ? 0 : 1;
  for (const entry of entries) {
    if (entry.keyHash === null) continue;
    invariant(entry.keyHash.length === KEY_HASH_BYTES, "Key hash has the wrong length.");
    at += entry.keyHash.copy(out, at);
  }
  for (const length of lengths) at = out.writeUInt32LE(length, at);
  for (const [i, entry] of entries.entries()) {
    const written = out.write(entry.json, at, "utf8");
    invariant(written === lengths[i], "Payload text length mismatch.");
    at += written;
  }
  invariant(at === out.length, "Payload length mismatch.");
  return out;
}

/** Decodes a payload; throws JournalInvariantError when it does not hold exactly `entryCount` entries. */
export function decodePayload(payload: Buffer, entryCount: number): PayloadEntry[] {
  let keyAt = entryCount;
  for (let i = 0; i < entryCount; i++) if (payload[i] === 1) keyAt += KEY_HASH_BYTES;
  let lengthAt = keyAt;
  let textAt = lengthAt + entryCount * 4;
  keyAt = entryCount;
  const entries: PayloadEntry[] = [];
  for (let i = 0; i < entryCount; i++) {
    let keyHash: Buffer | null = null;
    if (payload[i] === 1) {
      keyHash = payload.subarray(keyAt, keyAt + KEY_HASH_BYTES);
      keyAt += KEY_HASH_BYTES;
    }
    const length = payload.readUInt32LE(lengthAt);
    lengthAt += 4;
    entries.push({ json: payload.toString("utf8", textAt, textAt + length), keyHash });
    textAt += length;
  }
  invariant(textAt === payload.length, "Payload length does not match its entries.");
  return entries;
}

export interface BlockMeta {
  readonly firstSeq: number;
  readonly entryCount: number;
  readonly appendedAtMs: number;
  readonly uncompressedBytes: number;
  readonly groupEnd: boolean;
  readonly dictionaryId: number;
}

/** Builds header + compressed payload as one buffer, checksummed. */
export function encodeBlock(meta: BlockMeta, compressed: Buffer): Buffer {
  const block = Buffer.allocUnsafe(HEADER_BYTES + compressed.length);
  block.writeUInt32LE(BLOCK_MAGIC, 0);
  block.writeUInt8(BLOCK_VERSION, 4);
  block.writeUInt8(meta.groupEnd ? FLAG_GROUP_END : 0, 5);
  block.writeUInt8(meta.dictionaryId, 6);
  block.writeUInt8(0, 7);
  block.writeBigUInt64LE(BigInt(meta.firstSeq), 8);
  block.writeUInt32LE(meta.entryCount, 16);
  block.writeBigUInt64LE(BigInt(meta.appendedAtMs), 20);
  block.writeUInt32LE(meta.uncompressedBytes, 28);
  block.writeUInt32LE(compressed.length, 32);
  compressed.copy(block, HEADER_BYTES);
  block.writeUInt32LE(blockCrc(block.subarray(0, CRC_OFFSET), compressed), CRC_OFFSET);
  return block;
}

function blockCrc(headerPrefix: Buffer, compressed: Buffer): number {
  return crc32(compressed, crc32(headerPrefix.subarray(0, CRC_OFFSET)));
}

/** Parses a header; null when the bytes are not a plausible header (torn write, garbage). */
export function parseHeader(bytes: Buffer): BlockHeader | null {
  if (bytes.length < HEADER_BYTES) return null;
  if (bytes.readUInt32LE(0) !== BLOCK_MAGIC || bytes.readUInt8(4) !== BLOCK_VERSION) return null;
  const firstSeq = bytes.readBigUInt64LE(8);
  const appendedAtMs = bytes.readBigUInt64LE(20);
  if (firstSeq > BigInt(Number.MAX_SAFE_INTEGER) || appendedAtMs > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  const entryCount = bytes.readUInt32LE(16);
  if (entryCount === 0 || firstSeq === 0n) return null;
  return {
    firstSeq: Number(firstSeq),
    entryCount,
    appendedAtMs: Number(appendedAtMs),
    uncompressedBytes: bytes.readUInt32LE(28),
    compressedBytes: bytes.readUInt32LE(32),
    groupEnd: (bytes.readUInt8(5) & FLAG_GROUP_END) !== 0,
    dictionaryId: bytes.readUInt8(6),
    crc: bytes.readUInt32LE(CRC_OFFSET),
  };
}

/** Whether `compressed` is the payload `header` (parsed from `headerBytes`) was written with. */
export function blockChecksumValid(header: BlockHeader, headerBytes: Buffer, compressed: Buffer): boolean {
  return compressed.length === header.compressedBytes && blockCrc(headerBytes, compressed) === header.crc;
}
