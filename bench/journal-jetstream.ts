import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { DedupStore } from "../src/journal/dedup-store.js";
import { openFileJournal } from "../src/journal/file-journal.js";
import { openJetStreamJournal } from "../src/journal/jetstream-journal.js";
import type { Journal } from "../src/journal/journal.js";
import { startNatsServer } from "../test/helpers/nats-server.js";
import { loadSamples } from "./event-history-records.js";
import { makeBatch } from "./journal-append.js";

/**
 * The journal behind `/ingest` on each backend, in one process and one run: the embedded segment
 * files (fsync per append) against a JetStream stream on a private nats-server (file storage, one
 * replica, with the node's key index as `cairn server` opens it). `writers` concurrent appenders of
 * `batch` real sample records; events/s and this process's CPU per event (nats-server's own CPU is
 * not counted: bench/cluster.ts counts it). Prints; asserts nothing.
 * Usage: node dist/bench/journal-jetstream.js [events=100000] [writers=4] [batch=1000]
 */
const [events = 100_000, writers = 4, batch = 1000] = process.argv.slice(2).map(Number);
const samples = loadSamples() as unknown as Array<Record<string, unknown>>;
const directory = mkdtempSync(join(tmpdir(), "cairn-bench-journals-"));
const nats = await startNatsServer();

async function drive(journal: Journal, offset: number): Promise<{ eventsPerSec: number; cpuMicrosPerEvent: number }> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < events) {
        const first = next;
        next += batch;
        await journal.append(makeBatch(samples, offset + first, Math.min(batch, events - first), undefined));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    eventsPerSec: Math.round(events / seconds),
    cpuMicrosPerEvent: Math.round((used.user + used.system) / events),
  };
}

try {
  const file = await openFileJournal({ directory: join(directory, "segments") });
  const embedded = await drive(file, 0);
  await file.close();
  const jetstream = await openJetStreamJournal({
    servers: nats.urls,
    stream: "bench",
    keyIndex: DedupStore.open(join(directory, "journal-keys.sqlite")),
  });
  const cluster = await drive(jetstream, events);
  await jetstream.close();
  console.table([
    { journal: "segment files (embedded)", ...embedded },
    { journal: "JetStream stream (cluster)", ...cluster },
  ]);
  console.log(JSON.stringify({ name: "journal-jetstream", events, writers, batch, embedded, cluster }, null, 2));
} finally {
  await nats.stop();
  rmSync(directory, { recursive: true, force: true });
}
