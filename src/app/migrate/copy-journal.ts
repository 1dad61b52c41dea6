import type { FileJournal } from "../../journal/file-journal.js";
import type { JetStreamImport } from "../../journal/jetstream-import.js";
import type { CopyCount, ProgressTick } from "./copy-count.js";

/** Entries read from the data dir and published per step. */
const COPY_ENTRIES = 1_000;

/**
 * Copies the journal's entries into the JetStream stream at their own seqs (decision 0016). An empty
 * stream is first moved to the source's first seq; a stream that already holds entries must be this
 * journal's copy so far (same entry at the last seq both hold), and the copy goes on after its last
 * seq, so a re-run after an interruption publishes each entry once and a finished copy publishes
 * nothing. Anything else in the stream is refused: the cluster's journal is not this data dir's.
 */
export async function copyJournal(
  source: FileJournal,
  target: JetStreamImport,
  tick: ProgressTick = () => undefined,
): Promise<CopyCount> {
  const first = source.firstSeq();
  const head = source.headSeq();
  if (head < first) return { copied: 0, present: 0 };
  const from = await resumeSeq(source, target, first, head);
  let next = from;
  while (next <= head) {
    const entries = await source.readWithKeys(next, Math.min(COPY_ENTRIES, head - next + 1));
    if (entries.length === 0 || entries[0]!.entry.seq !== next)
      throw new Error(`The data dir's journal has no entry ${next} (between ${first} and ${head}).`);
    await target.publish(entries);
    next = entries.at(-1)!.entry.seq + 1;
    tick(next - first, head + 1 - first);
  }
  return { copied: head + 1 - from, present: from - first };
}

/** The first seq still to copy: `first` on an empty stream (moved there), else after the stream's last. */
async function resumeSeq(source: FileJournal, target: JetStreamImport, first: number, head: number): Promise<number> {
  const state = await target.state();
  if (state.messages === 0) {
    if (state.lastSeq !== 0 && state.lastSeq !== first - 1)
      throw new Error(
        `The cluster's journal stream is empty but was used before (its last seq is ${state.lastSeq}); ` +
          `the data dir's journal starts at ${first}. Use a new stream (CAIRN_JOURNAL_STREAM).`,
      );
    await target.startAt(first);
    return first;
  }
  // The last seq both hold must carry the same entry: then everything before it was copied too,
  // because every publish was guarded by the seq before it.
  const check = Math.min(state.lastSeq, head);
  const [mine] = await source.read(check, 1);
  const theirs = check >= state.firstSeq ? await target.entryAt(check) : undefined;
  if (mine === undefined || mine.seq !== check || theirs === undefined || !sameEntry(mine, theirs))
    throw new Error(
      `The cluster's journal stream already holds entries ${state.firstSeq}–${state.lastSeq} that are not ` +
        `this data dir's journal (${first}–${head}). Migrate into an empty stream.`,
    );
  return Math.min(state.lastSeq, head) + 1;
}

function sameEntry(a: { json: string; appendedAtMs: number }, b: { json: string; appendedAtMs: number }): boolean {
  return a.json === b.json && a.appendedAtMs === b.appendedAtMs;
}
