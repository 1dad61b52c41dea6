import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openFileJournal } from "../../src/journal/file-journal.js";
import { journalContractSuite } from "../contract/journal.suite.js";
import { MemoryJournal } from "../helpers/memory-journal.js";

const clock = { nowMs: () => 1_700_000_000_000 };

journalContractSuite("MemoryJournal", async () => ({
  journal: new MemoryJournal(clock.nowMs),
  cleanup: async () => undefined,
}));

journalContractSuite("FileJournal", async () => {
  const directory = await mkdtemp(join(tmpdir(), "cairn-journal-"));
  // One-byte segments: every append after the first rolls, which makes retention observable.
  const journal = await openFileJournal({ directory, clock, segmentBytesMax: 1, blockEntriesMax: 16 });
  return {
    journal,
    async cleanup() {
      await journal.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
});
