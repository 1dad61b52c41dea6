import type { AppendedGroup } from "../../journal/journal.js";
import { packedLength, packPostings, type DerivedRange, type RecordPostings } from "./derived-postings.js";
import { recordPostings } from "./lookup-pages.js";

interface HintGroup {
  readonly firstSeq: number;
  readonly count: number;
  readonly appendedAtMs: number;
  /** Undefined when a record's postings could not be derived here: the worker reads the group's blocks. */
  readonly packed: Float64Array | undefined;
  /** Where each entry starts in `packed`, and where the last one ends (count + 1 values). */
  readonly offsets: Uint32Array | undefined;
}

/**
 * The postings of the latest durable groups, derived on the server thread from the records the
 * ingest path had parsed anyway (`JournalAppendItem.record`; an item without one is parsed here), so
 * the index worker need not read, inflate and parse them again (decision 0020, third slice). The
 * journal hands each group over once it is durable (`observeAppends`); seqs are never reused after
 * that, so what is held for a seq is what was stored at it. Bounded by entries, oldest groups first;
 * a range not held whole is read from the journal's blocks as before.
 */
export class PostingHints {
  private groups: HintGroup[] = [];
  private entries = 0;

  constructor(private readonly entriesMax: number) {}

  /** A durable group's postings; a group that does not follow the last one starts afresh. */
  add(group: AppendedGroup): void {
    const count = group.items.length;
    if (count === 0 || this.entriesMax <= 0) return;
    const last = this.groups.at(-1);
    if (last !== undefined && last.firstSeq + last.count !== group.firstSeq) this.clear();
    const { packed, offsets } = derive(group) ?? {};
    this.groups.push({ firstSeq: group.firstSeq, count, appendedAtMs: group.appendedAtMs, packed, offsets });
    this.entries += count;
    let drop = 0;
    while (this.entries > this.entriesMax && drop < this.groups.length - 1) this.entries -= this.groups[drop++]!.count;
    if (drop > 0) this.groups = this.groups.slice(drop);
  }

  /** Postings of start..end (inclusive), or undefined unless every entry of it is held and derived. */
  range(start: number, end: number): DerivedRange | undefined {
    const oldest = this.groups[0];
    const newest = this.groups.at(-1);
    if (oldest === undefined || newest === undefined || start > end) return undefined;
    if (start < oldest.firstSeq || end >= newest.firstSeq + newest.count) return undefined;
    let first = this.groups.length - 1;
    while (this.groups[first]!.firstSeq > start) first--;
    const parts: Array<{ group: HintGroup; from: number; to: number }> = [];
    let length = 0;
    for (let index = first; index < this.groups.length; index++) {
      const group = this.groups[index]!;
      if (group.firstSeq > end) break;
      if (group.packed === undefined || group.offsets === undefined) return undefined;
      const from = Math.max(0, start - group.firstSeq);
      const to = Math.min(group.count, end - group.firstSeq + 1);
      parts.push({ group, from, to });
      length += group.offsets[to]! - group.offsets[from]!;
    }
    return assemble(start, end, parts, length);
  }

  clear(): void {
    this.groups = [];
    this.entries = 0;
  }
}

/** The group's postings packed, or undefined when a record's fields cannot be derived (the worker meets it itself). */
function derive(group: AppendedGroup): { packed: Float64Array; offsets: Uint32Array } | undefined {
  const all: RecordPostings[] = [];
  let length = 0;
  try {
    for (const item of group.items) {
      const postings = recordPostings(item.record ?? parsed(item.json));
      all.push(postings);
      length += packedLength(postings);
    }
  } catch {
    return undefined;
  }
  const packed = new Float64Array(length);
  const offsets = new Uint32Array(all.length + 1);
  let at = 0;
  for (const [i, postings] of all.entries()) {
    offsets[i] = at;
    at = packPostings(postings, packed, at);
  }
  offsets[all.length] = at;
  return { packed, offsets };
}

function parsed(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

function assemble(
  start: number,
  end: number,
  parts: ReadonlyArray<{ group: HintGroup; from: number; to: number }>,
  length: number,
): DerivedRange {
  const packed = new Float64Array(length);
  const offsets = new Uint32Array(end - start + 1);
  const appendedAtMs = new Float64Array(end - start + 1);
  let at = 0;
  let entry = 0;
  for (const { group, from, to } of parts) {
    const source = group.packed!;
    const sourceOffsets = group.offsets!;
    packed.set(source.subarray(sourceOffsets[from]!, sourceOffsets[to]!), at);
    for (let i = from; i < to; i++, entry++) {
      offsets[entry] = at + sourceOffsets[i]! - sourceOffsets[from]!;
      appendedAtMs[entry] = group.appendedAtMs;
    }
    at += sourceOffsets[to]! - sourceOffsets[from]!;
  }
  return { start, end, packed, offsets, appendedAtMs };
}
