import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PostgresEventHistory } from "../src/consumers/event-history/postgres-event-history.js";
import { openFileJournal } from "../src/journal/file-journal.js";
import type { Clock } from "../src/lib/clock.js";
import { openPostgresDatabase } from "../src/stores/postgres/index.js";
import { startPostgresServer } from "../test/helpers/postgres-server.js";
import { loadSamples, recordGenerator } from "./event-history-records.js";
import { FIRST_MS, fill, LAST_MS, measure } from "./event-history.js";

/**
 * The Event history on PostgreSQL (docs/decisions/0013-event-history-postgres.md): a private
 * PostgreSQL on this machine, N synthetic events indexed through the consumer's handle(), then
 * LookupEvents latencies (MaxResults 50, 90-day window) per case. Prints; asserts nothing.
 * Usage: node dist/bench/event-history-postgres.js [events=100000] [queries per case=200]
 */
const events = Number(process.argv[2] ?? "100000");
const queriesPerCase = Number(process.argv[3] ?? "200");
const server = await startPostgresServer();
const directory = mkdtempSync(join(tmpdir(), "cairn-bench-pg-history-"));
try {
  const database = await server.createDatabase();
  const db = openPostgresDatabase({ url: database.url });
  const clock: Clock = { nowMs: () => LAST_MS + 60_000 };
  const journal = await openFileJournal({ directory: join(directory, "journal"), clock });
  const history = await PostgresEventHistory.open({ db, journal, clock });
  try {
    const generator = recordGenerator(loadSamples(), events, FIRST_MS, LAST_MS);
    const [appendSeconds, indexSeconds] = await fill(history, generator, events, journal);
    await db.query("ANALYZE");
    const postings = await history.countPostings();
    const [size] = await db.query<{ bytes: string }>(
      "SELECT sum(pg_total_relation_size(inhrelid)) AS bytes FROM pg_inherits WHERE inhparent = 'cairn_event_history_postings'::regclass",
    );
    process.stdout.write(
      `${events} events: journal append ${appendSeconds.toFixed(1)} s, indexing ${indexSeconds.toFixed(1)} s ` +
        `(${Math.round(events / indexSeconds)} events/s), ${(postings / events).toFixed(2)} postings/event, ` +
        `${Math.round(Number(size?.bytes ?? 0) / events)} index bytes/event\n`,
    );
    const figures = await measure(history, generator, events, queriesPerCase);
    for (const figure of figures) process.stdout.write(`${JSON.stringify(figure)}\n`);
  } finally {
    await history.close();
    await journal.close();
    await db.close();
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
  await server.stop();
}
