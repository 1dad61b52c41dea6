import type { JournalEntry, JournalSlice, SliceBlock } from "./journal.js";
import type { BlockReader } from "./block-reader.js";
import type { SegmentIndex } from "./segment-index.js";
import type { SegmentStore } from "./segment-store.js";

interface BlockRef {
  readonly segment: SegmentIndex;
  readonly blockIndex: number;
}

/** Sequential read: the blocks covering [fromSeq, fromSeq + maxEntries), loaded concurrently. */
export async function readRange(
  store: SegmentStore,
  reader: BlockReader,
  fromSeq: number,
  maxEntries: number,
): Promise<JournalEntry[]> {
  const { start, end, blocks } = await loadRange(store, reader, fromSeq, maxEntries);
  const out: JournalEntry[] = [];
  for (const block of blocks) {
    for (const entry of block.entries) if (entry.seq >= start && entry.seq <= end) out.push(entry);
  }
  return out;
}

/** An entry with the hash of the dedup key it was appended with (null: appended without one). */
export interface KeyedJournalEntry {
  readonly entry: JournalEntry;
  readonly keyHash: Buffer | null;
}

/** As readRange, each entry with its dedup key's hash: what copying the journal elsewhere keeps. */
export async function readRangeWithKeys(
  store: SegmentStore,
  reader: BlockReader,
  fromSeq: number,
  maxEntries: number,
): Promise<KeyedJournalEntry[]> {
  const { start, end, blocks } = await loadRange(store, reader, fromSeq, maxEntries);
  const out: KeyedJournalEntry[] = [];
  for (const block of blocks)
    block.entries.forEach((entry, i) => {
      if (entry.seq >= start && entry.seq <= end) out.push({ entry, keyHash: block.keyHashes[i] ?? null });
    });
  return out;
}

async function loadRange(store: SegmentStore, reader: BlockReader, fromSeq: number, maxEntries: number) {
  const start = Math.max(fromSeq, store.firstSeq());
  const end = Math.min(start + maxEntries - 1, store.headSeq());
  const refs: BlockRef[] = [];
  for (let seq = start; seq <= end;) {
    const segment = store.findSegment(seq);
    if (segment === undefined) break;
    const blockIndex = segment.findBlock(seq);
    const block = segment.blocks.get(blockIndex)!;
    refs.push({ segment, blockIndex });
    seq = block.firstSeq + block.entryCount;
  }
  const blocks = await Promise.all(refs.map((ref) => reader.load(ref.segment, ref.blockIndex)));
  return { start, end, blocks };
}

/** The blocks covering [fromSeq, fromSeq + maxEntries), as readRange reads them. */
export function locateRange(store: SegmentStore, fromSeq: number, maxEntries: number): JournalSlice {
  const start = Math.max(fromSeq, store.firstSeq());
  const end = Math.min(start + maxEntries - 1, store.headSeq());
  const blocks: SliceBlock[] = [];
  for (let seq = start; seq <= end;) {
    const segment = store.findSegment(seq);
    if (segment === undefined) break;
    const block = segment.blocks.get(segment.findBlock(seq))!;
    blocks.push({ ...block, path: segment.path });
    seq = block.firstSeq + block.entryCount;
  }
  return { kind: "blocks", start, end, blocks };
}

/** Random read: each distinct block is read once, through the cache. */
export async function readSeqs(
  store: SegmentStore,
  reader: BlockReader,
  seqs: readonly number[],
): Promise<Map<number, JournalEntry>> {
  const byBlock = new Map<number, BlockRef>();
  for (const seq of seqs) {
    if (!Number.isSafeInteger(seq)) continue;
    const segment = store.findSegment(seq);
    if (segment === undefined) continue;
    const blockIndex = segment.findBlock(seq);
    const block = segment.blocks.get(blockIndex);
    if (block !== undefined && !byBlock.has(block.firstSeq)) byBlock.set(block.firstSeq, { segment, blockIndex });
  }
  const wanted = new Set(seqs);
  const blocks = await Promise.all(
    [...byBlock.values()].map((ref) => reader.entries(ref.segment, ref.blockIndex, wanted)),
  );
  const out = new Map<number, JournalEntry>();
  for (const entries of blocks) for (const entry of entries) out.set(entry.seq, entry);
  return out;
}
