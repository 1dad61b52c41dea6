import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { printMigrationProgress } from "../../src/cli/commands/migrate-progress.js";
import { collectOutput } from "../../src/cli/output.js";

describe("cairn migrate --to-cluster: progress lines on stderr", () => {
  it("says each step as it starts, every 10,000 items or 5 s while it goes, its counts as it ends, and the total", () => {
    const stderr = collectOutput();
    let nowMs = 1_000_000;
    const progress = printMigrationProgress(stderr, { nowMs: () => nowMs });
    const journal = { index: 1, of: 2, name: "copy the journal", unit: "journal entries" };
    progress.started(journal);
    for (let done = 1_000; done <= 25_000; done += 1_000) progress.advanced(journal, done, 25_000);
    nowMs += 2_500;
    progress.finished(journal, { journalEntries: { copied: 20_000, present: 5_000 } });
    const objects = { index: 2, of: 2, name: "copy the buckets' objects", unit: "bucket objects" };
    progress.started(objects);
    progress.advanced(objects, 1, undefined);
    nowMs += 5_000;
    progress.advanced(objects, 2, undefined);
    progress.advanced(objects, 3, undefined);
    progress.finished(objects, { objects: { copied: 3, present: 0 } });
    assert.deepEqual(stderr.text().split("\n"), [
      "cairn migrate: step 1/2: copy the journal",
      "cairn migrate:   journal entries: 10000 of 25000",
      "cairn migrate:   journal entries: 20000 of 25000",
      "cairn migrate: step 1/2 done in 2.5 s: journal entries 20000 copied, 5000 already there",
      "cairn migrate: step 2/2: copy the buckets' objects",
      "cairn migrate:   bucket objects: 2",
      "cairn migrate: step 2/2 done in 5.0 s: bucket objects 3 copied, 0 already there",
      "cairn migrate: all 2 steps done in 7.5 s",
      "",
    ]);
  });
});
