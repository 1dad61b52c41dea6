import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { benchNormalize } from "./normalize.js";
import { benchJournalAppend } from "./journal-append.js";
import { benchHttpIngest } from "./http-ingest.js";
import { benchEventHistory } from "./event-history.js";
import { benchTrailArchiveScan } from "./trail-archive-scan.js";

/**
 * `npm run bench`: every benchmark of the core, printed side by side with the alternative a user
 * would pick, and written as JSON to bench/results/. Not part of the tests (timings are noisy on a
 * shared machine). `--history-events=N` sets the Event history size (default 1,000,000; the README's
 * 10M figures come from `--history-events=10000000`, about 20 minutes).
 */
const flags = new Map(process.argv.slice(2).map((arg) => arg.replace(/^--/, "").split("=") as [string, string]));
const historyEvents = Number(flags.get("history-events") ?? 1_000_000);

const normalize = await benchNormalize();
const journal = await benchJournalAppend();
const ingest = await benchHttpIngest(Number(flags.get("ingest-events") ?? 200_000));
const history = await benchEventHistory({ events: historyEvents });
const scan = await benchTrailArchiveScan(historyEvents);

const results = { at: new Date().toISOString(), node: process.version, normalize, journal, ingest, history, scan };
const directory = resolve(import.meta.dirname, "../../bench/results");
mkdirSync(directory, { recursive: true });
const file = join(directory, `core-${results.at.replace(/[:.]/g, "-")}.json`);
writeFileSync(file, JSON.stringify(results, null, 2));

const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;
console.log("\nDurable ingest (events/s)");
console.table([
  {
    path: "HTTP POST /ingest, 1000-record batches",
    cairn: ingest.eventsPerSec,
    "NDJSON + fsync per batch (no validation/index)": ingest.baselineNdjsonFsyncEventsPerSec,
    ratio: ratio(ingest.eventsPerSec, ingest.baselineNdjsonFsyncEventsPerSec),
  },
  {
    path: "in-process journal append",
    cairn: journal.eventsPerSec,
    "NDJSON + fsync per batch (no validation/index)": ingest.baselineNdjsonFsyncEventsPerSec,
    ratio: ratio(journal.eventsPerSec, ingest.baselineNdjsonFsyncEventsPerSec),
  },
]);
console.log(`normalize: ${normalize.recordsPerSec} records/s on one core`);
console.log(
  `\nLookupEvents at ${historyEvents.toLocaleString("en")} events vs scanning the gzip trail archive (${scan.scanMsPerQuery} ms per query)`,
);
console.table(
  history.latencies.map((l) => ({
    case: l.case,
    "p50 ms": l.p50Ms,
    "p99 ms": l.p99Ms,
    "archive scan ms": scan.scanMsPerQuery,
    "speed-up at p99": `${Math.round(scan.scanMsPerQuery / Math.max(l.p99Ms, 0.01))}x`,
  })),
);
console.table([
  {
    figure: "bytes on disk per event (whole data dir)",
    cairn: history.dataDirBytesPerEvent,
    "gzip trail archive": scan.archiveBytesPerEvent,
  },
  { figure: "RSS after the history run (MB)", cairn: Math.round(history.maxRssBytes / 1e6), "gzip trail archive": "-" },
  { figure: "HTTP ingest server RSS (MB)", cairn: Math.round(ingest.serverRssBytes / 1e6), "gzip trail archive": "-" },
]);
console.log(`\nResults written to ${file}`);
