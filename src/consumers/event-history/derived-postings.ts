import type { JournalEntry } from "../../journal/journal.js";

/**
 * An entry's postings as the server thread derived them (decision 0020, third slice), in the form
 * they cross to the index worker: one Float64Array per range, per entry `[count, time, key…]`, with
 * `count` -1 for a record that is not one (no eventTime) and -2 for one Event history does not show.
 * Keys are 48-bit integers and times whole seconds: a double holds both exactly.
 */

/** Postings of a range as they cross to the worker (transferable buffers). */
export interface DerivedRange {
  readonly start: number;
  readonly end: number;
  readonly packed: Float64Array<ArrayBuffer>;
  /** Where each entry starts in `packed`. */
  readonly offsets: Uint32Array<ArrayBuffer>;
  readonly appendedAtMs: Float64Array<ArrayBuffer>;
}

/** What a record contributes to the index before retention: its eventTime (seconds) and keys, or why not. */
export type RecordPostings =
  { readonly time: number; readonly keys: readonly number[] } | typeof UNPARSABLE | typeof NOT_EVENT_HISTORY;

export const UNPARSABLE = "unparsable";
export const NOT_EVENT_HISTORY = "notEventHistory";

const UNPARSABLE_COUNT = -1;
const NOT_EVENT_HISTORY_COUNT = -2;

/** Slots one entry takes. */
export function packedLength(postings: RecordPostings): number {
  return typeof postings === "string" ? 2 : 2 + postings.keys.length;
}

/** Writes one entry at `at`; returns where the next one starts. */
export function packPostings(postings: RecordPostings, into: Float64Array, at: number): number {
  if (postings === UNPARSABLE || postings === NOT_EVENT_HISTORY) {
    into[at] = postings === UNPARSABLE ? UNPARSABLE_COUNT : NOT_EVENT_HISTORY_COUNT;
    into[at + 1] = 0;
    return at + 2;
  }
  into[at] = postings.keys.length;
  into[at + 1] = postings.time;
  for (let i = 0; i < postings.keys.length; i++) into[at + 2 + i] = postings.keys[i]!;
  return at + 2 + postings.keys.length;
}

/** Reads the entry written at `at`. */
function unpackPostings(from: Float64Array, at: number): RecordPostings {
  const count = from[at]!;
  if (count === UNPARSABLE_COUNT) return UNPARSABLE;
  if (count === NOT_EVENT_HISTORY_COUNT) return NOT_EVENT_HISTORY;
  const keys = new Array<number>(count);
  for (let i = 0; i < count; i++) keys[i] = from[at + 2 + i]!;
  return { time: from[at + 1]!, keys };
}

/**
 * A journal entry the index worker did not read: the server thread handed over its postings, derived
 * from the record it had parsed. Its text was never read here, so asking for it is an error (the
 * worker reads the blocks instead after any failed batch, so the quarantine always gets real entries).
 */
export class DerivedEntry implements JournalEntry {
  constructor(
    readonly seq: number,
    readonly appendedAtMs: number,
    private readonly packed: Float64Array,
    private readonly at: number,
  ) {}

  get json(): string {
    throw new Error(
      `Journal entry ${this.seq} was indexed from the server thread's derivation; its text was not read.`,
    );
  }

  postings(): RecordPostings {
    return unpackPostings(this.packed, this.at);
  }
}

/** The entries of a derived range, as the worker's runner hands them to the index. */
export function derivedEntries(range: DerivedRange): DerivedEntry[] {
  const out: DerivedEntry[] = [];
  for (let seq = range.start; seq <= range.end; seq++) {
    const i = seq - range.start;
    out.push(new DerivedEntry(seq, range.appendedAtMs[i]!, range.packed, range.offsets[i]!));
  }
  return out;
}
