import type { IngestProvenance } from "../model/provenance.js";
import type { CloudTrailRecord } from "../model/record.js";

/**
 * The durable journal (architecture stage 3): the single source of truth. Every capture path
 * appends here and gets its answer only after the append is fsynced; every consumer (event
 * history, trails, Lake, live tail) reads from here with its own cursor. See docs/specs/journal.md.
 */

/** One record handed to the journal. `json` is the compact serialisation that will be stored and served. */
export interface JournalAppendItem {
  readonly json: string;
  /**
   * Identity for de-duplication (see docs/decisions/0002-dedup-key.md). When an entry with the same
   * key is already in the journal, the item is acknowledged and not stored again. Omit for records
   * that must always be stored (self-audit events, which are fresh by construction).
   */
  readonly dedupKey?: string;
  /**
   * Who put the record in (the entry's envelope, src/model/provenance.ts): stored next to `json`,
   * never inside it, and handed back with the entry by every read. Items of one append usually share
   * one value object; the file journal stores each distinct value once per block.
   */
  readonly provenance?: IngestProvenance;
  /**
   * The record `json` serialises, when the caller already holds it parsed (the normaliser's output;
   * equal to `JSON.parse(json)`). Never stored: handed to append observers (`observeAppends`) on this
   * thread so that they need not parse `json` again (decision 0020, third slice).
   */
  readonly record?: CloudTrailRecord;
}

/** A durable group as appended: its stored items (duplicates left out), in seq order from `firstSeq`. */
export interface AppendedGroup {
  readonly firstSeq: number;
  readonly appendedAtMs: number;
  readonly items: readonly JournalAppendItem[];
}

export interface JournalAppendResult {
  /** Per item, in order: the sequence number it was stored at, or `null` when it was a duplicate. */
  readonly seqs: ReadonlyArray<number | null>;
}

export interface JournalEntry {
  /** Dense, strictly increasing, starting at 1. */
  readonly seq: number;
  /** Wall-clock time (ms since epoch) the entry became durable; used for journal retention. */
  readonly appendedAtMs: number;
  readonly json: string;
  /** As appended; absent for entries appended without one, and for every entry written before it existed. */
  readonly provenance?: IngestProvenance;
}

/**
 * Where a range of entries is: blocks of segment files (the file journal) or the entries themselves
 * (a journal whose entries are not in local files). `start..end` is the range actually covered,
 * clamped to [firstSeq(), headSeq()]; empty when start > end.
 */
export type JournalSlice =
  | { readonly kind: "blocks"; readonly start: number; readonly end: number; readonly blocks: readonly SliceBlock[] }
  | {
      readonly kind: "entries";
      readonly start: number;
      readonly end: number;
      readonly entries: readonly JournalEntry[];
    };

/** One compressed block of a segment file (file journal), with what is needed to verify it. */
export interface SliceBlock {
  readonly path: string;
  readonly firstSeq: number;
  readonly entryCount: number;
  readonly offset: number;
  readonly bytes: number;
  readonly appendedAtMs: number;
}

export interface Journal {
  /** Appends atomically as a group and resolves only after the data is fsynced. Rejects with JournalUnavailableError when it cannot. */
  append(items: readonly JournalAppendItem[]): Promise<JournalAppendResult>;
  /** Entries with seq >= fromSeq in order, at most maxEntries; empty when fromSeq is past the head. */
  read(fromSeq: number, maxEntries: number): Promise<JournalEntry[]>;
  /**
   * Positioned read for another thread: where the entries [fromSeq, fromSeq + maxEntries) lie, as a
   * structured-cloneable slice that a SliceReader (`openSliceReader`) turns into entries on any
   * thread, without this journal's state. Cheap (no I/O); lets a consumer decode off the ingest thread.
   * It may cover fewer entries than are stored (never past what is stored): see `prepareSlice`.
   */
  slice(fromSeq: number, maxEntries: number): JournalSlice;
  /**
   * Optional: a journal whose entries are not in local files (JetStream) answers `slice` from memory
   * and may then cover less than is stored; this loads [fromSeq, fromSeq + maxEntries) so the next
   * `slice` of that range is whole. A caller that takes slices awaits it first when it exists. The
   * file journal has none: its slices never need I/O.
   */
  prepareSlice?(fromSeq: number, maxEntries: number): Promise<void>;
  /** Random access for indexes that point into the journal. Missing (deleted by retention) seqs are absent from the map. */
  readMany(seqs: readonly number[]): Promise<Map<number, JournalEntry>>;
  /**
   * Optional: calls `observer` on this thread with each group once it is durable, before its appends
   * are answered and before readers waiting for the head wake (so an observer's derivations of seq s
   * exist before anyone can read s). An observer must be quick and is not trusted: what it throws is
   * dropped. Returns the function that stops the observation. A journal that several processes append
   * to (JetStream) has none: observers could not see the others' groups.
   */
  observeAppends?(observer: (group: AppendedGroup) => void): () => void;
  /** Highest durable seq, 0 when empty. */
  headSeq(): number;
  /**
   * The head as the journal itself has it now, other writers' appends included (a JetStream stream
   * several nodes append to); the same as headSeq() for a journal this process alone writes. What a
   * control-plane call pins a position with (StartLogging, StopLogging, a new event data store).
   */
  latestSeq(): Promise<number>;
  /** Lowest seq still stored (after retention), or headSeq()+1 when empty. */
  firstSeq(): number;
  /** Resolves when headSeq() > afterSeq, or when the signal aborts. */
  waitForAppend(afterSeq: number, signal?: AbortSignal): Promise<void>;
  /**
   * Resolves when an append could be made durable now; rejects with JournalUnavailableError when it
   * could not (the last write failed and recovery does not succeed yet, or the disk refuses a small
   * write). Appends nothing. Readiness probes call it: a journal that failed recovers only when
   * something writes, and a node that answers "not ready" gets no writes.
   */
  checkWritable(): Promise<void>;
  /** Retention: deletes whole segments whose entries all have seq < beforeSeq and appendedAtMs < olderThanMs. */
  deleteBefore(beforeSeq: number, olderThanMs: number): Promise<number>;
  close(): Promise<void>;
}

/** The journal cannot durably write: callers must fail closed (HTTP 503), never acknowledge. */
export class JournalUnavailableError extends Error {
  override readonly name = "JournalUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Parses a journal entry back into a record. Consumers call this; entries are always valid JSON records. */
export function entryRecord(entry: JournalEntry): CloudTrailRecord {
  return JSON.parse(entry.json) as CloudTrailRecord;
}
