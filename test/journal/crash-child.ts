/**
 * Crash-test writer (spawned by crash.test.ts, killed with SIGKILL at a random moment). Appends
 * batches forever and prints one JSON line per acknowledged batch: the keys and the seqs it got.
 * Each batch also re-sends keys of the previous round, which may or may not have been stored.
 * Two of three batches carry a provenance, named in each record too (`by`), so the test can check
 * that every entry kept the provenance of the append that stored it.
 */
import { openFileJournal } from "../../src/journal/file-journal.js";

const [directory, roundText] = process.argv.slice(2);
const round = Number(roundText);
const journal = await openFileJournal({ directory: directory!, segmentBytesMax: 64 * 1024, blockEntriesMax: 16 });
process.stdout.write(`OPEN ${journal.headSeq()}\n`);

async function appendBatch(batch: number): Promise<void> {
  const keys: string[] = [];
  for (let i = 0; i < 10; i++) keys.push(`r${round - 1}-b${batch}-${i}`);
  for (let i = 0; i < 60; i++) keys.push(`r${round}-b${batch}-${i}`);
  const by = batch % 3 === 2 ? null : `arn:aws:iam::111122223333:user/writer-${batch % 3}`;
  const provenance = by === null ? undefined : { source: "ingest" as const, principalArn: by };
  const items = keys.map((key) => ({
    json: JSON.stringify({ key, by, padding: "x".repeat(200) }),
    dedupKey: key,
    ...(provenance !== undefined ? { provenance } : {}),
  }));
  const { seqs } = await journal.append(items);
  process.stdout.write(`${JSON.stringify({ keys, seqs })}\n`);
}

// Several writers at once, so that kills also land in coalesced groups.
for (let batch = 0; ; batch += 3) {
  await Promise.all([appendBatch(batch), appendBatch(batch + 1), appendBatch(batch + 2)]);
}
