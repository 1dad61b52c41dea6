import { loadSamples } from "./event-history-records.js";
import { readdir, rm, mkdtemp, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { openFileJournal, type FileJournalOptions } from "../src/journal/file-journal.js";
import type { JournalAppendItem } from "../src/journal/journal.js";
import type { IngestProvenance } from "../src/model/provenance.js";

/**
 * Journal append benchmark: durable (fsynced) append throughput with concurrent writers appending
 * batches of real CloudTrail sample records (fresh eventID each), bytes on disk per event for the
 * whole journal directory (segments, sidecars, dedup SQLite), and readMany latency for 50 random seqs.
 * Usage: node dist/bench/journal-append.js [events] [writers] [batch] [--block-entries=n] [--level=n]
 *        [--dictionary=id] [--sync-inflate-bytes=n] [--cache-blocks=n]   (journal options; defaults when absent)
 *        [--provenance=0]   (items without the envelope, as before it existed; default: each batch
 *        carries one caller's provenance, as `POST /ingest` appends it)
 */

/** The FileJournalOptions a run may override, so alternatives are measured with the same harness. */
export type JournalTuning = Pick<
  FileJournalOptions,
  "blockEntriesMax" | "compressionLevel" | "dictionaryId" | "syncInflateBytesMax" | "cacheBlocksMax"
>;

export interface JournalAppendBench {
  name: string;
  events: number;
  writers: number;
  batchEntries: number;
  tuning: JournalTuning;
  /** Whether each item carried a provenance (one value per batch, as one /ingest call's records share it). */
  provenance: boolean;
  eventsPerSec: number;
  /** Process CPU (main thread + thread pool) per event while appending: steadier than events/s on a shared machine. */
  cpuMicrosPerEvent: number;
  rawBytesPerEvent: number;
  bytesPerEvent: number;
  readManyPageMsP50: number;
  readManyPageMsP99: number;
  /** Time to reopen (recover + rebuild the block index + dedup replay check). */
  reopenMs: number;
}

export function makeBatch(
  samples: Array<Record<string, unknown>>,
  first: number,
  count: number,
  provenance: IngestProvenance | undefined,
): JournalAppendItem[] {
  return Array.from({ length: count }, (_, i) => {
    const n = first + i;
    const eventID = `bench-${n.toString(16).padStart(10, "0")}-4f7c-9d2e-${(n * 2654435761).toString(16).slice(-12)}`;
    const json = JSON.stringify({ ...samples[n % samples.length], eventID });
    // One literal either way, as triage builds them: a copy per item would cost the timed run its GC.
    return provenance === undefined ? { json, dedupKey: eventID } : { json, dedupKey: eventID, provenance };
  });
}

/** One of a few callers per batch, as several principals ingesting at once would be. */
function benchProvenance(batch: number): IngestProvenance {
  const caller = batch % 4;
  return {
    source: "ingest",
    principalArn: `arn:aws:iam::111122223333:user/bench-ingest-${caller}`,
    accessKeyId: `AKIABENCH${String(caller).padStart(11, "0")}`,
  };
}

async function directoryBytes(directory: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(directory)) total += (await stat(join(directory, name))).size;
  return total;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

export async function benchJournalAppend(
  events = 300_000,
  writers = 4,
  batchEntries = 1000,
  tuning: JournalTuning = {},
  provenance = true,
): Promise<JournalAppendBench> {
  const samples = loadSamples() as unknown as Array<Record<string, unknown>>;
  const directory = await mkdtemp(join(tmpdir(), "cairn-bench-journal-"));
  try {
    let journal = await openFileJournal({ directory, ...tuning });
    // Batches are built before timing: serialising records is the ingest path's cost, not the journal's.
    const batches: JournalAppendItem[][] = [];
    for (let first = 0; first < events; first += batchEntries) {
      const batchProvenance = provenance ? benchProvenance(first / batchEntries) : undefined;
      batches.push(makeBatch(samples, first, Math.min(batchEntries, events - first), batchProvenance));
    }
    const rawBytes = batches.flat().reduce((sum, item) => sum + item.json.length, 0);
    const writer = async (): Promise<void> => {
      for (let batch = batches.shift(); batch !== undefined; batch = batches.shift()) await journal.append(batch);
    };
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    await Promise.all(Array.from({ length: writers }, writer));
    const appendSeconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStarted);
    await journal.close();

    const reopenStarted = performance.now();
    journal = await openFileJournal({ directory, ...tuning });
    const reopenMs = performance.now() - reopenStarted;
    const pageMs = await timeReadMany(journal.headSeq(), (seqs) => journal.readMany(seqs));
    await journal.close();
    return {
      name: "journal-append",
      events,
      writers,
      batchEntries,
      tuning,
      provenance,
      eventsPerSec: Math.round(events / appendSeconds),
      cpuMicrosPerEvent: Math.round(((cpu.user + cpu.system) / events) * 10) / 10,
      rawBytesPerEvent: Math.round(rawBytes / events),
      bytesPerEvent: Math.round((await directoryBytes(directory)) / events),
      readManyPageMsP50: percentile(pageMs, 0.5),
      readManyPageMsP99: percentile(pageMs, 0.99),
      reopenMs: Math.round(reopenMs),
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** 500 pages of 50 uniformly random seqs (seeded), timed one page at a time. */
async function timeReadMany(headSeq: number, readMany: (seqs: number[]) => Promise<unknown>): Promise<number[]> {
  let state = 12345;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const times: number[] = [];
  for (let page = 0; page < 500; page++) {
    const seqs = Array.from({ length: 50 }, () => 1 + Math.floor(random() * headSeq));
    const started = performance.now();
    await readMany(seqs);
    times.push(Math.round((performance.now() - started) * 100) / 100);
  }
  return times.sort((a, b) => a - b);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  const [events, writers, batch] = args.filter((arg) => !arg.startsWith("--")).map(Number);
  const flags = new Map(
    args.filter((arg) => arg.startsWith("--")).map((arg) => arg.slice(2).split("=") as [string, string]),
  );
  const flag = (name: string): number | undefined => (flags.has(name) ? Number(flags.get(name)) : undefined);
  const tuning = Object.fromEntries(
    Object.entries({
      blockEntriesMax: flag("block-entries"),
      compressionLevel: flag("level"),
      dictionaryId: flag("dictionary"),
      syncInflateBytesMax: flag("sync-inflate-bytes"),
      cacheBlocksMax: flag("cache-blocks"),
    }).filter(([, value]) => value !== undefined),
  ) as JournalTuning;
  const provenance = flag("provenance") !== 0;
  const result = await benchJournalAppend(
    events || undefined,
    writers || undefined,
    batch || undefined,
    tuning,
    provenance,
  );
  console.log(JSON.stringify(result, null, 2));
}
