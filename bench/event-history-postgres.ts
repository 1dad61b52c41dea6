import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { PostgresEventHistory } from "../src/consumers/event-history/postgres-event-history.js";
import { openFileJournal } from "../src/journal/file-journal.js";
import type { Clock } from "../src/lib/clock.js";
import { openPostgresDatabase, type PostgresDatabase } from "../src/stores/postgres/index.js";
import { postgresMissingReason, startPostgresServer } from "../test/helpers/postgres-server.js";
import { loadSamples, recordGenerator } from "./event-history-records.js";
import { benchEventHistory, FIRST_MS, fill, LAST_MS, measure, type LatencyFigures } from "./event-history.js";

/**
 * The Event history on PostgreSQL (docs/decisions/0013-event-history-postgres.md) against the
 * embedded one on the same synthetic events: a private PostgreSQL on this machine, N events indexed
 * through the consumer's handle() (records kept in PostgreSQL), then the same LookupEvents cases as
 * bench/event-history.ts (MaxResults 50, 90-day window). Prints side by side and writes JSON to
 * bench/results/; asserts nothing.
 * Usage: node dist/bench/event-history-postgres.js [events=1000000] [queries per case=300] [--postgres-only]
 */
export interface PostgresEventHistoryBench {
  readonly events: number;
  readonly indexSeconds: number;
  readonly indexEventsPerSec: number;
  readonly postingsPerEvent: number;
  readonly postingBytesPerEvent: number;
  readonly recordBytesPerEvent: number;
  readonly latencies: LatencyFigures[];
}

async function partitionedBytes(db: PostgresDatabase, table: string): Promise<number> {
  const [row] = await db.query<{ bytes: string | null }>(
    "SELECT sum(pg_total_relation_size(inhrelid)) AS bytes FROM pg_inherits WHERE inhparent = $1::regclass",
    [table],
  );
  return Number(row?.bytes ?? 0);
}

export async function benchPostgresEventHistory(
  events: number,
  queriesPerCase = 300,
): Promise<PostgresEventHistoryBench> {
  const server = await startPostgresServer();
  const directory = mkdtempSync(join(tmpdir(), "cairn-bench-pg-history-"));
  try {
    const database = await server.createDatabase();
    // VACUUM ANALYZE of 10M events' partitions takes minutes: past the 15 s a node allows a statement.
    const db = openPostgresDatabase({ url: database.url, statementTimeoutMs: 4 * 3_600_000 });
    const clock: Clock = { nowMs: () => LAST_MS + 60_000 };
    const journal = await openFileJournal({ directory: join(directory, "journal"), clock });
    const history = await PostgresEventHistory.open({ db, journal, clock });
    try {
      const generator = recordGenerator(loadSamples(), events, FIRST_MS, LAST_MS);
      const [, indexSeconds] = await fill(history, generator, events, journal);
      await db.query("VACUUM ANALYZE");
      const postings = await history.countPostings();
      const latencies = await measure(history, generator, events, queriesPerCase);
      return {
        events,
        indexSeconds: Math.round(indexSeconds),
        indexEventsPerSec: Math.round(events / indexSeconds),
        postingsPerEvent: Math.round((postings / events) * 100) / 100,
        postingBytesPerEvent: Math.round((await partitionedBytes(db, "cairn_event_history_postings")) / events),
        recordBytesPerEvent: Math.round((await partitionedBytes(db, "cairn_event_history_records")) / events),
        latencies,
      };
    } finally {
      await history.close();
      await journal.close();
      await db.close();
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
    await server.stop();
  }
}

/** LookupEvents per case on both backends, with PostgreSQL's speed as a share of the embedded one's. */
export function printEventHistoryBackends(
  embedded: readonly LatencyFigures[],
  postgres: PostgresEventHistoryBench,
): void {
  const share = (e: number, p: number): string => (p === 0 ? "—" : `${(e / p).toFixed(2)}x`);
  console.log(`\nLookupEvents at ${postgres.events.toLocaleString("en")} events: embedded (SQLite) vs PostgreSQL`);
  console.table(
    embedded.map((e) => {
      const p = postgres.latencies.find((figure) => figure.case === e.case)!;
      return {
        case: e.case,
        "embedded p50 ms": e.p50Ms,
        "PostgreSQL p50 ms": p.p50Ms,
        "embedded p99 ms": e.p99Ms,
        "PostgreSQL p99 ms": p.p99Ms,
        "p99 share": share(e.p99Ms, p.p99Ms),
      };
    }),
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [events = 1_000_000, queriesPerCase = 300] = process.argv
    .slice(2)
    .filter((arg) => !arg.startsWith("--"))
    .map(Number);
  const missing = postgresMissingReason();
  if (missing !== false) throw new Error(missing);
  // --postgres-only: the PostgreSQL side alone (a 10M run of both takes over an hour on 2 cores).
  const embedded = process.argv.includes("--postgres-only")
    ? undefined
    : await benchEventHistory({ events, queriesPerCase });
  const postgres = await benchPostgresEventHistory(events, queriesPerCase);
  if (embedded !== undefined) printEventHistoryBackends(embedded.latencies, postgres);
  else console.table(postgres.latencies);
  const { latencies: _latencies, ...totals } = postgres;
  console.log(
    JSON.stringify({ embedded: embedded && { ...embedded, latencies: undefined }, postgres: totals }, null, 2),
  );
  const directory = resolve(import.meta.dirname, "../../bench/results");
  mkdirSync(directory, { recursive: true });
  writeFileSync(
    join(directory, `event-history-backends-${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
    JSON.stringify({ embedded, postgres }, null, 2),
  );
}
