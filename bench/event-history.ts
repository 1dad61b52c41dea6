import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { lookupEventFromRecord } from "../src/consumers/event-history/derive.js";
import type { LookupAttributeKey, LookupEvent, LookupQuery } from "../src/consumers/event-history/event-history.js";
import { encodeNextToken, queryFingerprint } from "../src/consumers/event-history/next-token.js";
import {
  openSqliteEventHistory,
  type SqliteEventHistory,
} from "../src/consumers/event-history/sqlite-event-history.js";
import { openFileJournal } from "../src/journal/file-journal.js";
import type { Clock } from "../src/lib/clock.js";
import {
  BENCH_ACCOUNT,
  BENCH_REGIONS,
  loadSamples,
  recordGenerator,
  type RecordGenerator,
} from "./event-history-records.js";
import { writeBenchResults } from "./results-file.js";

/**
 * Event history benchmark: fills a real file journal with N synthetic ~1.2 KB records spread over
 * 90 days, runs the event-history consumer over it, then times LookupEvents (MaxResults 50, full
 * 90-day window) per attribute, for a deep page and for an AND, and reports bytes on disk and RSS.
 * Usage: node dist/bench/event-history.js <events> [--dir=<kept data directory>] [--reuse] [--block-entries=<n>]
 */

export interface LatencyFigures {
  readonly case: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Process CPU (every thread, user + system) per query: what the load of a shared machine changes least. */
  readonly cpuMsPerQuery: number;
  /** CPU of a database server's processes per query, when the bench can see them (PostgreSQL's `--server-pid`). */
  readonly serverCpuMsPerQuery?: number;
  readonly meanEvents: number;
}

export interface EventHistoryBenchResult {
  readonly events: number;
  readonly journalAppendSeconds: number;
  readonly indexSeconds: number;
  readonly indexBytesPerEvent: number;
  readonly journalBytesPerEvent: number;
  readonly dataDirBytesPerEvent: number;
  readonly postingsPerEvent: number;
  readonly rssBytes: number;
  readonly maxRssBytes: number;
  /** Of the RSS: the JavaScript heap, and memory outside it (Buffers, SQLite and zlib allocations show in rss only). */
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
  readonly latencies: LatencyFigures[];
}

const DAY_MS = 86_400_000;
export const LAST_MS = Date.UTC(2024, 5, 1);
export const FIRST_MS = LAST_MS - 89.9 * DAY_MS;
const APPEND_CHUNK = 16_384;
const CONSUMER_BATCH = 4_096;

function directoryBytes(path: string): number {
  let total = 0;
  for (const name of readdirSync(path)) {
    const stat = statSync(join(path, name));
    total += stat.isDirectory() ? directoryBytes(join(path, name)) : stat.size;
  }
  return total;
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
}

type QueryFactory = (pick: (key: LookupAttributeKey) => string, position: () => number) => LookupQuery;

function baseQuery(region: string = BENCH_REGIONS[0]): LookupQuery {
  return {
    accountId: BENCH_ACCOUNT,
    region,
    attributes: [],
    startTimeMs: LAST_MS + 60_000 - 90 * DAY_MS,
    endTimeMs: LAST_MS + 60_000,
    maxResults: 50,
  };
}

function withDeepToken(query: LookupQuery, time: number): LookupQuery {
  return { ...query, nextToken: encodeNextToken({ time, seq: Number.MAX_SAFE_INTEGER }, queryFingerprint(query)) };
}

const attributeCase =
  (key: LookupAttributeKey): QueryFactory =>
  (pick) => ({ ...baseQuery(), attributes: [{ key, value: pick(key) }] });

const CASES: Array<[string, QueryFactory]> = [
  ["no filter, first page", () => baseQuery()],
  ["no filter, deep page", (_pick, position) => withDeepToken(baseQuery(), position())],
  ...(
    [
      "EventId",
      "EventName",
      "ReadOnly",
      "Username",
      "EventSource",
      "AccessKeyId",
      "ResourceType",
      "ResourceName",
    ] as const
  ).map((key): [string, QueryFactory] => [key, attributeCase(key)]),
  ["EventName, deep page", (pick, position) => withDeepToken(attributeCase("EventName")(pick, position), position())],
  [
    "ResourceName (rare), other region",
    (pick) => ({ ...baseQuery(BENCH_REGIONS[1]), attributes: [{ key: "ResourceName", value: pick("ResourceName") }] }),
  ],
  [
    "EventSource AND ReadOnly=false",
    (pick) => ({
      ...baseQuery(),
      attributes: [
        { key: "EventSource", value: pick("EventSource") },
        { key: "ReadOnly", value: "false" },
      ],
    }),
  ],
];

/** What fill() and measure() need of an Event history backend (the SQLite and the PostgreSQL one). */
export type BenchedEventHistory = Pick<SqliteEventHistory, "loadCursor" | "handle" | "lookup">;

export async function fill(
  history: BenchedEventHistory,
  generator: RecordGenerator,
  events: number,
  journal: Awaited<ReturnType<typeof openFileJournal>>,
): Promise<[number, number]> {
  let appendMs = 0;
  let indexMs = 0;
  for (let first = 0; first < events; first += APPEND_CHUNK) {
    const items = [];
    for (let i = first; i < Math.min(events, first + APPEND_CHUNK); i++) {
      const record = generator.record(i);
      items.push({
        json: JSON.stringify(record),
        dedupKey: JSON.stringify([BENCH_ACCOUNT, record.eventID, record.eventTime]),
      });
    }
    const appendStart = performance.now();
    await journal.append(items);
    const indexStart = performance.now();
    appendMs += indexStart - appendStart;
    for (;;) {
      const batch = await journal.read((await history.loadCursor()) + 1, CONSUMER_BATCH);
      if (batch.length === 0) break;
      await history.handle(batch);
    }
    indexMs += performance.now() - indexStart;
    if ((first / APPEND_CHUNK) % 64 === 63) process.stderr.write(`${first + APPEND_CHUNK} events\n`);
  }
  return [appendMs / 1000, indexMs / 1000];
}

export async function measure(
  history: BenchedEventHistory,
  generator: RecordGenerator,
  events: number,
  queriesPerCase: number,
  serverCpuMicros?: () => number,
): Promise<LatencyFigures[]> {
  let seed = 12345;
  const next = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  // Values come from random stored events, so common values are asked for as often as they occur.
  const pick = (key: LookupAttributeKey): string => {
    for (;;) {
      const record = generator.record(Math.floor(next() * events));
      const event: LookupEvent = lookupEventFromRecord("", record);
      const values =
        key === "ResourceType" || key === "ResourceName" ? event.Resources.map((r) => r[key]) : [event[key]];
      const value = values[Math.floor(next() * values.length)];
      if (value !== undefined) return value;
    }
  };
  const position = (): number => Math.floor((FIRST_MS + next() * (LAST_MS - FIRST_MS)) / 1000);
  const figures: LatencyFigures[] = [];
  for (const [name, factory] of CASES) {
    const times: number[] = [];
    let returned = 0;
    let cpuMicros = 0;
    const serverCpuBefore = serverCpuMicros?.();
    for (let q = 0; q < queriesPerCase; q++) {
      const query = factory(pick, position);
      const cpuBefore = process.cpuUsage();
      const start = performance.now();
      const result = await history.lookup(query);
      times.push(performance.now() - start);
      const cpu = process.cpuUsage(cpuBefore);
      cpuMicros += cpu.user + cpu.system;
      returned += result.events.length;
    }
    times.sort((a, b) => a - b);
    const round = (ms: number): number => Math.round(ms * 100) / 100;
    figures.push({
      case: name,
      p50Ms: round(percentile(times, 0.5)),
      p99Ms: round(percentile(times, 0.99)),
      maxMs: round(times.at(-1) ?? 0),
      cpuMsPerQuery: round(cpuMicros / 1000 / queriesPerCase),
      ...(serverCpuBefore === undefined
        ? {}
        : { serverCpuMsPerQuery: round((serverCpuMicros!() - serverCpuBefore) / 1000 / queriesPerCase) }),
      meanEvents: round(returned / queriesPerCase),
    });
  }
  return figures;
}

export interface EventHistoryBenchOptions {
  readonly events: number;
  /** Kept after the run when given; a fresh temporary directory (deleted afterwards) otherwise. */
  readonly directory?: string;
  readonly queriesPerCase?: number;
  /** The file journal's blockEntriesMax; its default when absent. */
  readonly journalBlockEntriesMax?: number;
  /** Query the data a previous run left in `directory` (same event count) instead of filling it again. */
  readonly reuse?: boolean;
}

export async function benchEventHistory(options: EventHistoryBenchOptions): Promise<EventHistoryBenchResult> {
  const directory = options.directory ?? mkdtempSync(join(tmpdir(), "cairn-bench-event-history-"));
  const clock: Clock = { nowMs: () => LAST_MS + 60_000 };
  const journal = await openFileJournal({
    directory: join(directory, "journal"),
    clock,
    ...(options.journalBlockEntriesMax === undefined ? {} : { blockEntriesMax: options.journalBlockEntriesMax }),
  });
  const history = await openSqliteEventHistory({ path: join(directory, "event-history.db"), journal, clock });
  try {
    const generator = recordGenerator(loadSamples(), options.events, FIRST_MS, LAST_MS);
    const [journalAppendSeconds, indexSeconds] =
      options.reuse === true ? [0, 0] : await fill(history, generator, options.events, journal);
    const indexBytes = history.sizeBytes();
    const postings = history.countPostings();
    const latencies = await measure(history, generator, options.events, options.queriesPerCase ?? 300);
    const journalBytes = directoryBytes(join(directory, "journal"));
    return {
      events: options.events,
      journalAppendSeconds: Math.round(journalAppendSeconds),
      indexSeconds: Math.round(indexSeconds),
      indexBytesPerEvent: Math.round(indexBytes / options.events),
      journalBytesPerEvent: Math.round(journalBytes / options.events),
      dataDirBytesPerEvent: Math.round(directoryBytes(directory) / options.events),
      postingsPerEvent: Math.round((postings / options.events) * 100) / 100,
      rssBytes: process.memoryUsage().rss,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      heapUsedBytes: process.memoryUsage().heapUsed,
      externalBytes: process.memoryUsage().external,
      latencies,
    };
  } finally {
    await history.close();
    await journal.close();
    if (options.directory === undefined) rmSync(directory, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const flags = new Map(process.argv.slice(3).map((arg) => arg.replace(/^--/, "").split("=") as [string, string]));
  const result = await benchEventHistory({
    events: Number(process.argv[2] ?? "100000"),
    ...(flags.has("dir") ? { directory: flags.get("dir")! } : {}),
    ...(flags.has("reuse") ? { reuse: true } : {}),
    ...(flags.has("block-entries") ? { journalBlockEntriesMax: Number(flags.get("block-entries")) } : {}),
  });
  const { latencies, ...totals } = result;
  console.log(JSON.stringify(totals, null, 2));
  console.table(latencies);
  // The machine's load average beside the figures: on a shared machine it explains the p99s.
  const file = writeBenchResults("event-history", {
    ...result,
    loadAverage: loadavg(),
    arguments: process.argv.slice(2),
  });
  console.error(`results: ${file}`);
}
