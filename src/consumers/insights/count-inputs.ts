import type { AppendedGroup } from "../../journal/journal.js";
import { countInputOf, type CountInput } from "./series-counter.js";

interface InputGroup {
  readonly firstSeq: number;
  /** Per entry: its input, null when its record counts nowhere, undefined when appended without a record. */
  readonly inputs: ReadonlyArray<CountInput | null | undefined>;
}

/**
 * What Insights counts of the latest durable groups, read from the records the ingest path had parsed
 * anyway (`JournalAppendItem.record`), so that the consumer need not parse each entry's text again
 * (decision 0020, third slice). Items appended without a record are left to the consumer, which
 * parses them as before. Seqs are never reused once durable (the journal hands a group over only then), so an
 * input held for a seq is that of the record stored at it. Groups are dropped once counted, and the
 * oldest first beyond `entriesMax`; a seq not held is parsed from the batch.
 */
export class CountInputs {
  private groups: InputGroup[] = [];
  private entries = 0;

  constructor(private readonly entriesMax: number) {}

  /** A durable group; a group that does not follow the last one starts afresh. */
  add(group: AppendedGroup): void {
    if (group.items.length === 0 || this.entriesMax <= 0) return;
    const last = this.groups.at(-1);
    if (last !== undefined && last.firstSeq + last.inputs.length !== group.firstSeq) this.clear();
    // An item appended without its parsed record (a call's own record) is left to the consumer to parse.
    const inputs = group.items.map((item) =>
      item.record === undefined ? undefined : (countInputOf(item.record) ?? null),
    );
    this.groups.push({ firstSeq: group.firstSeq, inputs });
    this.entries += inputs.length;
    while (this.entries > this.entriesMax && this.groups.length > 1) this.entries -= this.groups.shift()!.inputs.length;
  }

  /** The input held for `seq`: null when its record counts nowhere, undefined when none is held. */
  readonly known = (seq: number): CountInput | null | undefined => {
    for (let i = this.groups.length - 1; i >= 0; i--) {
      const group = this.groups[i]!;
      if (seq >= group.firstSeq) return group.inputs[seq - group.firstSeq];
    }
    return undefined;
  };

  /** Forgets the groups wholly at or before `seq` (counted). */
  release(seq: number): void {
    let drop = 0;
    while (drop < this.groups.length) {
      const group = this.groups[drop]!;
      if (group.firstSeq + group.inputs.length - 1 > seq) break;
      this.entries -= group.inputs.length;
      drop++;
    }
    if (drop > 0) this.groups = this.groups.slice(drop);
  }

  clear(): void {
    this.groups = [];
    this.entries = 0;
  }
}
