import type { JournalEntry } from "../../src/journal/index.js";

/**
 * Every entry up to `head`, read as consumers read: the Journal contract lets a read return fewer
 * entries than asked (a JetStream node serves a run of its own cached appends; a range fetch that
 * expires while a new leader catches up returns what arrived), so go on from the last one.
 */
export async function readToHead(
  read: (fromSeq: number, maxEntries: number) => Promise<JournalEntry[]>,
  head: number,
  timeoutMs = 60_000,
): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  const deadline = Date.now() + timeoutMs;
  while ((entries.at(-1)?.seq ?? 0) < head && Date.now() < deadline)
    entries.push(...(await read((entries.at(-1)?.seq ?? 0) + 1, head + 100)));
  return entries;
}
