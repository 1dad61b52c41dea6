import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { openFileJournal } from "../../src/journal/file-journal.js";
import { journalContractSuite } from "../contract/journal.suite.js";
import { jetStreamJournals } from "../helpers/jetstream-journals.js";
import { MemoryJournal } from "../helpers/memory-journal.js";
import { natsServerMissingReason, startNatsCluster, startNatsServer } from "../helpers/nats-server.js";

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

const natsMissing = natsServerMissingReason();
if (natsMissing) {
  it("Journal contract: JetStreamJournal", { skip: natsMissing }, () => undefined);
} else {
  // Its clock is the wall clock (entries carry the appending node's time), which the suite allows.
  const single = jetStreamJournals(startNatsServer, 1);
  const cluster = jetStreamJournals(startNatsCluster, 3);
  after(() => Promise.all([single.stop(), cluster.stop()]));
  journalContractSuite("JetStreamJournal", () => single.open());
  journalContractSuite("JetStreamJournal, R3 on a 3-node cluster", () => cluster.open());
}
