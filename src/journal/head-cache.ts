import type { JournalEntry } from "./journal.js";

interface CachedGroup {
  readonly firstSeq: number;
  readonly entries: readonly JournalEntry[];
  readonly chars: number;
}

/**
 * The entries of the latest durable groups, as `read` returns them, kept by the writer once a group
 * is durable (decision 0020). Consumers at the head read these instead of reading and inflating the
 * same blocks once each: every consumer on the event loop did, ~5 inflates of every block. Bounded by
 * the entries' JSON length; the oldest groups go first. A range it does not hold whole is read from
 * the files as before.
 */
export class HeadCache {
  private groups: CachedGroup[] = [];
  private chars = 0;

  constructor(private readonly charsMax: number) {}

  /** A durable group's entries, in seq order; a group that does not follow the last one starts afresh. */
  add(entries: readonly JournalEntry[]): void {
    const first = entries[0];
    if (first === undefined || this.charsMax <= 0) return;
    const last = this.groups.at(-1);
    if (last !== undefined && last.firstSeq + last.entries.length !== first.seq) this.clear();
    let chars = 0;
    for (const entry of entries) chars += entry.json.length;
    this.groups.push({ firstSeq: first.seq, entries, chars });
    this.chars += chars;
    let drop = 0;
    while (this.chars > this.charsMax && drop < this.groups.length - 1) this.chars -= this.groups[drop++]!.chars;
    if (drop > 0) this.groups = this.groups.slice(drop);
  }

  /** Entries start..end (inclusive), or undefined unless all of them are held. */
  read(start: number, end: number): JournalEntry[] | undefined {
    const oldest = this.groups[0];
    const newest = this.groups.at(-1);
    if (oldest === undefined || newest === undefined) return undefined;
    if (start < oldest.firstSeq || end >= newest.firstSeq + newest.entries.length || start > end) return undefined;
    let index = this.groups.length - 1;
    while (this.groups[index]!.firstSeq > start) index--;
    const out: JournalEntry[] = [];
    for (; index < this.groups.length && out.length < end - start + 1; index++) {
      const group = this.groups[index]!;
      const from = Math.max(0, start - group.firstSeq);
      const to = Math.min(group.entries.length, end - group.firstSeq + 1);
      for (let i = from; i < to; i++) out.push(group.entries[i]!);
    }
    return out;
  }

  clear(): void {
    this.groups = [];
    this.chars = 0;
  }
}
