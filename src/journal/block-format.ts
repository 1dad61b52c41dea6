import { crc32 } from "node:zlib";
import { parseProvenance, PROVENANCE_BYTES_MAX, provenanceText } from "../model/provenance.js";
import type { IngestProvenance } from "../model/provenance.js";
import { invariant } from "./invariant.js";

/**
 * On-disk block format. A segment file is a sequence of blocks; each block holds up to
 * `blockEntriesMax` consecutive entries, compressed together with a preset dictionary
 * (block-dictionary.ts), so that a small block (32 entries, ~40 KB raw) compresses about as well as
 * a large one and a random read inflates little (docs/decisions/0004-journal-block-compression.md).
 *
 * Header (little-endian, HEADER_BYTES):
 *   0 magic u32 | 4 version u8 | 5 flags u8 (bit 0: group end, bit 1: provenance) | 6 dictionary id u8
 *   7 reserved u8 | 8 firstSeq u64
 *   16 entryCount u32 | 20 appendedAtMs u64 | 28 uncompressedBytes u32 | 32 compressedBytes u32
 *   36 crc32 u32 over header bytes [0, 36) followed by the compressed payload
 *
 * The uncompressed payload is columnar (random key hashes would otherwise sit between JSON texts
 * and break deflate's back-references): entryCount flag bytes (1 = has key hash), the key hashes
 * (KEY_HASH_BYTES each, only for flagged entries), entryCount u32 JSON byte lengths, the JSON texts,
 * and, only when the header's provenance flag is set, the provenance section (writeProvenanceSection).
 * A block none of whose entries has a provenance is written exactly as before the section existed,
 * and blocks written before it read unchanged. A build that predates it keeps a flagged block (its
 * CRC is valid) and fails loudly when it decodes one (the payload is longer than its entries), as
 * with an unknown dictionary, instead of cutting acknowledged data.
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
const FLAG_PROVENANCE = 2;

export interface BlockHeader {
  readonly firstSeq: number;
  readonly entryCount: number;
  readonly appendedAtMs: number;
  readonly uncompressedBytes: number;
  readonly compressedBytes: number;
  readonly groupEnd: boolean;
  /** Preset dictionary the payload was deflated with; DICTIONARY_NONE (0) in blocks written before it existed. */
  readonly dictionaryId: number;
  /** Whether the payload ends with a provenance section. */
  readonly hasProvenance: boolean;
  readonly crc: number;
}

export interface PayloadEntry {
  readonly json: string;
  /** KEY_HASH_BYTES bytes, or null for an entry stored without a dedup key. */
  readonly keyHash: Buffer | null;
  /** Who ingested the record (the entry's envelope), or null. */
  readonly provenance: IngestProvenance | null;
}

/** Whether encodePayload writes a provenance section for these entries (the header's FLAG_PROVENANCE). */
export function hasProvenance(entries: readonly PayloadEntry[]): boolean {
  return entries.some((entry) => entry.provenance !== null);
}

export function encodePayload(entries: readonly PayloadEntry[]): Buffer {
  // Byte lengths first, then each text written straight into the payload: no buffer per entry.
  const lengths = entries.map((entry) => Buffer.byteLength(entry.json, "utf8"));
  const keyCount = entries.filter((entry) => entry.keyHash !== null).length;
  const textBytes = lengths.reduce((sum, length) => sum + length, 0);
  const provenance = hasProvenance(entries) ? provenanceTable(entries) : null;
  const provenanceBytes = provenance === null ? 0 : provenanceSectionBytes(provenance, entries.length);
  // Never from the shared pool: the journal hands payloads to its compression thread by transfer.
  const out = Buffer.allocUnsafeSlow(entries.length * 5 + keyCount * KEY_HASH_BYTES + textBytes + provenanceBytes);
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
  if (provenance !== null) at = writeProvenanceSection(out, at, provenance);
  invariant(at === out.length, "Payload length mismatch.");
  return out;
}

/**
 * The provenance section (after the JSON texts, only in blocks flagged FLAG_PROVENANCE), encoded
 * with a dictionary per block: the entries of one block nearly always come from one or two callers,
 * so each distinct value is stored once and each entry holds an index into that table.
 *   u32 table size N | N u32 byte lengths | N texts (provenanceText, UTF-8) | u8 index width W (1, 2, 4)
 *   | entryCount indexes of W bytes (0: no provenance; i: the table's i-th text)
 */
interface ProvenanceTable {
  readonly texts: string[];
  readonly lengths: number[];
  /** Per entry: 0 or 1 + its text's position in `texts`. */
  readonly indexes: number[];
  readonly width: 1 | 2 | 4;
}

function provenanceTable(entries: readonly PayloadEntry[]): ProvenanceTable {
  // The items of one append share one value object: serialised once, not once per entry.
  const textOf = new Map<IngestProvenance, string>();
  const positionOf = new Map<string, number>();
  const texts: string[] = [];
  const indexes = entries.map((entry) => {
    if (entry.provenance === null) return 0;
    let text = textOf.get(entry.provenance);
    if (text === undefined) textOf.set(entry.provenance, (text = provenanceText(entry.provenance)));
    let position = positionOf.get(text);
    if (position === undefined) {
      positionOf.set(text, (position = texts.length));
      texts.push(text);
    }
    return position + 1;
  });
  const lengths = texts.map((text) => Buffer.byteLength(text, "utf8"));
  for (const length of lengths) invariant(length <= PROVENANCE_BYTES_MAX, "Provenance value is too long.");
  const width = texts.length <= 0xff ? 1 : texts.length <= 0xffff ? 2 : 4;
  return { texts, lengths, indexes, width };
}

function provenanceSectionBytes(table: ProvenanceTable, entryCount: number): number {
  const textBytes = table.lengths.reduce((sum, length) => sum + length, 0);
  return 4 + table.texts.length * 4 + textBytes + 1 + entryCount * table.width;
}

function writeProvenanceSection(out: Buffer, start: number, table: ProvenanceTable): number {
  let at = out.writeUInt32LE(table.texts.length, start);
  for (const length of table.lengths) at = out.writeUInt32LE(length, at);
  for (const [i, text] of table.texts.entries()) {
    const written = out.write(text, at, "utf8");
    invariant(written === table.lengths[i], "Provenance text length mismatch.");
    at += written;
  }
  at = out.writeUInt8(table.width, at);
  for (const index of table.indexes) at = out.writeUIntLE(index, at, table.width);
  return at;
}

/**
 * Where each entry of a payload is, without decoding its text: what a random read keeps of a block
 * (block-reader.ts), so that only the entries asked for become strings on V8's heap.
 */
export interface PayloadIndex {
  /** Entry i's JSON is bytes textStarts[i] to textStarts[i + 1] of the payload. */
  readonly textStarts: Uint32Array;
  readonly keyHashes: ReadonlyArray<Buffer | null>;
  readonly provenance: ReadonlyArray<IngestProvenance | null>;
}

/**
 * Indexes a payload; throws JournalInvariantError when it does not hold exactly `entryCount` entries
 * (and, when `withProvenance`, their provenance section).
 */
export function indexPayload(payload: Buffer, entryCount: number, withProvenance: boolean): PayloadIndex {
  let keyAt = entryCount;
  for (let i = 0; i < entryCount; i++) if (payload[i] === 1) keyAt += KEY_HASH_BYTES;
  let lengthAt = keyAt;
  let textAt = lengthAt + entryCount * 4;
  keyAt = entryCount;
  const textStarts = new Uint32Array(entryCount + 1);
  const keyHashes: Array<Buffer | null> = [];
  for (let i = 0; i < entryCount; i++) {
    let keyHash: Buffer | null = null;
    if (payload[i] === 1) {
      keyHash = payload.subarray(keyAt, keyAt + KEY_HASH_BYTES);
      keyAt += KEY_HASH_BYTES;
    }
    keyHashes.push(keyHash);
    textStarts[i] = textAt;
    textAt += payload.readUInt32LE(lengthAt);
    lengthAt += 4;
  }
  textStarts[entryCount] = textAt;
  invariant(textAt <= payload.length, "Payload length does not match its entries.");
  const provenance = Array.from({ length: entryCount }, () => ({ provenance: null as IngestProvenance | null }));
  if (withProvenance) textAt = readProvenanceSection(payload, textAt, provenance);
  invariant(textAt === payload.length, "Payload length does not match its entries.");
  return { textStarts, keyHashes, provenance: provenance.map((entry) => entry.provenance) };
}

/** Entry i's JSON text. */
export function payloadText(payload: Buffer, index: PayloadIndex, i: number): string {
  return payload.toString("utf8", index.textStarts[i], index.textStarts[i + 1]);
}

/**
 * Decodes a payload; throws JournalInvariantError when it does not hold exactly `entryCount` entries
 * (and, when `withProvenance`, their provenance section).
 */
export function decodePayload(payload: Buffer, entryCount: number, withProvenance: boolean): PayloadEntry[] {
  const index = indexPayload(payload, entryCount, withProvenance);
  return index.keyHashes.map((keyHash, i) => ({
    json: payloadText(payload, index, i),
    keyHash,
    provenance: index.provenance[i]!,
  }));
}

/** Fills in each entry's provenance from the section at `start`; returns where the section ends. */
function readProvenanceSection(
  payload: Buffer,
  start: number,
  entries: Array<{ provenance: IngestProvenance | null }>,
): number {
  const count = payload.readUInt32LE(start);
  invariant(count >= 1 && count <= entries.length, "Provenance table has the wrong size.");
  let lengthAt = start + 4;
  let textAt = lengthAt + count * 4;
  // Parsed once per block; the entries that share a value share the object.
  const table: IngestProvenance[] = [];
  for (let i = 0; i < count; i++) {
    const length = payload.readUInt32LE(lengthAt);
    lengthAt += 4;
    const value = parseProvenance(payload.toString("utf8", textAt, textAt + length));
    invariant(value !== undefined, "Provenance value does not parse.");
    table.push(Object.freeze(value));
    textAt += length;
  }
  const width = payload.readUInt8(textAt++);
  invariant(width === 1 || width === 2 || width === 4, "Provenance index width is not 1, 2 or 4.");
  for (const entry of entries) {
    const index = payload.readUIntLE(textAt, width);
    textAt += width;
    invariant(index <= count, "Provenance index is out of range.");
    entry.provenance = index === 0 ? null : table[index - 1]!;
  }
  return textAt;
}

export interface BlockMeta {
  readonly firstSeq: number;
  readonly entryCount: number;
  readonly appendedAtMs: number;
  readonly uncompressedBytes: number;
  readonly groupEnd: boolean;
  readonly dictionaryId: number;
  /** The payload was encoded with a provenance section (hasProvenance of its entries). */
  readonly hasProvenance: boolean;
}

/** Builds header + compressed payload as one buffer, checksummed. */
export function encodeBlock(meta: BlockMeta, compressed: Buffer): Buffer {
  const block = Buffer.allocUnsafe(HEADER_BYTES + compressed.length);
  block.writeUInt32LE(BLOCK_MAGIC, 0);
  block.writeUInt8(BLOCK_VERSION, 4);
  block.writeUInt8((meta.groupEnd ? FLAG_GROUP_END : 0) | (meta.hasProvenance ? FLAG_PROVENANCE : 0), 5);
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
    hasProvenance: (bytes.readUInt8(5) & FLAG_PROVENANCE) !== 0,
    crc: bytes.readUInt32LE(CRC_OFFSET),
  };
}

/** Whether `compressed` is the payload `header` (parsed from `headerBytes`) was written with. */
export function blockChecksumValid(header: BlockHeader, headerBytes: Buffer, compressed: Buffer): boolean {
  return compressed.length === header.compressedBytes && blockCrc(headerBytes, compressed) === header.crc;
}
