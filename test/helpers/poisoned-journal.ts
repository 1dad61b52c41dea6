import assert from "node:assert/strict";
import { join } from "node:path";
import { openFileJournal, type Journal } from "../../src/journal/index.js";
import { normalizeIngestedRecord } from "../../src/normalize/pipeline.js";
import type { RawRecord } from "./sample-records.js";

/**
 * Journals the records at seqs 1, 2, … of `<dataDir>/journal` (or of the journal `open` gives, such
 * as a cluster node's stream), before a server starts on it: each
 * normalised by today's rules, and those in `poisoned` then given `userIdentity: null`, as a journal
 * an older Cairn wrote may hold them. Event history's index refuses those, so a real server
 * quarantines them without anything in it being made to fail.
 */
export async function seedJournal(
  dataDir: string,
  records: readonly RawRecord[],
  poisoned: ReadonlySet<RawRecord>,
  open: (dataDir: string) => Promise<Journal> = (dir) => openFileJournal({ directory: join(dir, "journal") }),
): Promise<void> {
  const journal = await open(dataDir);
  try {
    await journal.append(
      records.map((raw) => {
        const result = normalizeIngestedRecord(raw, { receivedAtMs: Date.now() });
        assert.ok(result.ok, JSON.stringify(result));
        const json = poisoned.has(raw) ? JSON.stringify({ ...result.record, userIdentity: null }) : result.json;
        return { json, dedupKey: result.dedupKey };
      }),
    );
  } finally {
    await journal.close();
  }
}
