import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
 *        [--url=<database URL> --dir=<journal directory> [--reuse] [--server-pid=<postmaster pid>]]
 * With --url and --dir the bench uses that database and journal and keeps them (a private server and
 * a temporary directory otherwise); --reuse then queries what a previous run filled (10M takes an hour).
 * --server-pid (Linux) adds the CPU its server processes spent per query, which a loaded machine's
 * scheduling changes less than the latency.
 */
export interface PostgresEventHistoryBench {
  readonly events: number;
  readonly indexSeconds: number;
  readonly indexEventsPerSec: number;
  readonly postingsPerEvent: number;
  readonly postingBytesPerEvent: number;
  readonly recordBytesPerEvent: number;
  /** The write events' postings again (decision 0013, migration 4). */
  readonly writePostingBytesPerEvent: number;
  readonly latencies: LatencyFigures[];
}

async function partitionedBytes(db: PostgresDatabase, table: string): Promise<number> {
  const [row] = await db.query<{ bytes: string | null }>(
    "SELECT sum(pg_total_relation_size(inhrelid)) AS bytes FROM pg_inherits WHERE inhparent = $1::regclass",
    [table],
  );
  return Number(row?.bytes ?? 0);
}

/**
 * User + system CPU of a postmaster's child processes serving `database` (its backends, whose process
 * title names the database), in microseconds, from /proc: another database's work on the same server
 * (a fill running beside the measurement) is not counted.
 */
function serverCpuMicros(postmasterPid: number, database: string): () => number {
  const ticksToMicros = 10_000; // USER_HZ is 100 on Linux
  return () => {
    const children = readFileSync(`/proc/${postmasterPid}/task/${postmasterPid}/children`, "utf8").trim().split(/\s+/);
    let ticks = 0;
    for (const pid of children.filter((child) => child !== "")) {
      try {
        const title = readFileSync(`/proc/${pid}/cmdline`, "utf8").split(" ");
        if (title[0] !== "postgres:" || title[2] !== database) continue;
        // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
        const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // The process ended meanwhile.
      }
    }
    return ticks * ticksToMicros;
  };
}

/** A database and journal directory the caller keeps (`--url`, `--dir`), optionally already filled. */
export interface KeptPostgresData {
  readonly url: string;
  readonly directory: string;
  readonly reuse: boolean;
  readonly serverPid?: number;
}

export async function benchPostgresEventHistory(
  events: number,
  queriesPerCase = 300,
  kept?: KeptPostgresData,
): Promise<PostgresEventHistoryBench> {
  const server = kept === undefined ? await startPostgresServer() : undefined;
  const directory = kept?.directory ?? mkdtempSync(join(tmpdir(), "cairn-bench-pg-history-"));
  try {
    const url = kept?.url ?? (await server!.createDatabase()).url;
    // VACUUM ANALYZE of 10M events' partitions takes minutes: past the 15 s a node allows a statement.
    const db = openPostgresDatabase({ url, statementTimeoutMs: 4 * 3_600_000 });
    const clock: Clock = { nowMs: () => LAST_MS + 60_000 };
    const journal = await openFileJournal({ directory: join(directory, "journal"), clock });
    const history = await PostgresEventHistory.open({ db, journal, clock });
    try {
      const generator = recordGenerator(loadSamples(), events, FIRST_MS, LAST_MS);
      const [, indexSeconds] = kept?.reuse === true ? [0, 0] : await fill(history, generator, events, journal);
      if (kept?.reuse !== true) await db.query("VACUUM ANALYZE");
      const postings = await history.countPostings();
      const latencies = await measure(
        history,
        generator,
        events,
        queriesPerCase,
        kept?.serverPid === undefined
          ? undefined
          : serverCpuMicros(kept.serverPid, decodeURIComponent(new URL(url).pathname.slice(1))),
      );
      return {
        events,
        indexSeconds: Math.round(indexSeconds),
        indexEventsPerSec: indexSeconds === 0 ? 0 : Math.round(events / indexSeconds),
        postingsPerEvent: Math.round((postings / events) * 100) / 100,
        postingBytesPerEvent: Math.round((await partitionedBytes(db, "cairn_event_history_postings")) / events),
        recordBytesPerEvent: Math.round((await partitionedBytes(db, "cairn_event_history_records")) / events),
        writePostingBytesPerEvent: Math.round(
          (await partitionedBytes(db, "cairn_event_history_write_postings")) / events,
        ),
        latencies,
      };
    } finally {
      await history.close();
      await journal.close();
      await db.close();
    }
  } finally {
    if (kept === undefined) rmSync(directory, { recursive: true, force: true });
    await server?.stop();
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
  const flags = new Map(
    process.argv.slice(2).flatMap((arg) => (arg.startsWith("--") ? [arg.slice(2).split("=") as [string, string]] : [])),
  );
  const kept =
    flags.has("url") && flags.has("dir")
      ? {
          url: flags.get("url")!,
          directory: flags.get("dir")!,
          reuse: flags.has("reuse"),
          ...(flags.has("server-pid") ? { serverPid: Number(flags.get("server-pid")) } : {}),
        }
      : undefined;
  const missing = kept === undefined && postgresMissingReason();
  if (missing !== false) throw new Error(missing);
  // --postgres-only: the PostgreSQL side alone (a 10M run of both takes over an hour on 2 cores).
  const embedded = process.argv.includes("--postgres-only")
    ? undefined
    : await benchEventHistory({ events, queriesPerCase });
  const postgres = await benchPostgresEventHistory(events, queriesPerCase, kept);
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
