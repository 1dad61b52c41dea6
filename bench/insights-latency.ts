import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CloudTrailClient,
  CreateTrailCommand,
  LookupEventsCommand,
  PutInsightSelectorsCommand,
  StartLoggingCommand,
} from "@aws-sdk/client-cloudtrail";
import type { SignatureV4 } from "@smithy/signature-v4";
import { toEventTime } from "../src/lib/clock.js";
import { BENCH_ACCOUNT } from "./event-history-records.js";
import {
  BENCH_ACCESS_KEY_ID,
  BENCH_REGION,
  BENCH_SECRET,
  benchSigner,
  sendIngest,
  startBenchServer,
  type BenchServer,
} from "./server-process.js";

/**
 * Insights latency (issue #14: "an anomaly is reported within 2 minutes"), on a fresh `cairn server`
 * with the default Insights settings (7-day baseline, 30 s detection delay, 5 quiet minutes):
 * a back-dated week of low steady traffic first (as test/integration/insights-aws-cli.test.ts), then
 * live traffic at wall-clock time: a sparse background (CreateTags at random times, 3 a minute on
 * average, as in the baseline) and, per run, in its own minute starting one second past the minute
 * (the worst place in a minute), 40 writes of one API (ApiCallRateInsight) and 30 AccessDenied of
 * another (ApiErrorRateInsight). Measured from each spike's first acknowledged event to its Start
 * record in the journal (a live tail, signed for another region so that reading it is no traffic of
 * the spiking region) and visible through LookupEvents (EventCategory insight, polled from the
 * moment the tail shows it), and the same for the End record.
 */
const REGION = "eu-west-1";
const MINUTE = 60_000;
const WEEK = 7 * 24 * 60 * MINUTE;
const WRITE_APIS = ["CreateUser", "CreateRole", "CreatePolicy", "CreateGroup", "PutRolePolicy", "CreateAccessKey"];
const ERROR_APIS = ["GetUser", "GetRole", "GetPolicy", "GetGroup", "GetRolePolicy", "ListAccessKeys"];
export const MAX_RUNS = WRITE_APIS.length;
const SPIKE_CALLS = 4;
const BURST_CALLS = 3;
const RECORDS_PER_CALL = 10;
/** Background calls a minute on average, at random times (the baseline's 2 or 4 a minute). */
const BACKGROUND_PER_MINUTE = 3;
const LOOKUP_POLL_MS = 100;

export interface SeriesLatency {
  readonly run: number;
  readonly insightType: "ApiCallRateInsight" | "ApiErrorRateInsight";
  readonly eventName: string;
  /** Seconds past its minute the spike's first event was acknowledged. */
  readonly firstAckSecondOfMinute: number;
  /** Ms from the spike's first acknowledgement; NaN: not seen before the bench gave up. */
  readonly startInJournalMs: number;
  readonly startInLookupMs: number;
  readonly endInJournalMs: number;
  readonly endInLookupMs: number;
}

export interface LatencySummary {
  readonly p50: number;
  readonly max: number;
  readonly n: number;
}

export interface InsightsLatencyBench {
  readonly runs: number;
  readonly waitedForEnd: boolean;
  readonly baselineEvents: number;
  readonly backgroundEvents: number;
  readonly series: readonly SeriesLatency[];
  /** Seconds, over both insight types. */
  readonly startInLookupSeconds: LatencySummary;
  readonly startInJournalSeconds: LatencySummary;
  readonly endInLookupSeconds: LatencySummary;
}

let serial = 0;
function record(timeMs: number, fields: Record<string, unknown>): Record<string, unknown> {
  serial++;
  return {
    eventVersion: "1.11",
    userIdentity: {
      type: "IAMUser",
      arn: `arn:aws:iam::${BENCH_ACCOUNT}:user/steady`,
      accountId: BENCH_ACCOUNT,
      userName: "steady",
    },
    eventTime: toEventTime(timeMs),
    eventSource: "iam.amazonaws.com",
    eventName: "CreateUser",
    awsRegion: REGION,
    sourceIPAddress: "192.0.2.10",
    userAgent: "steady-agent/1.0",
    requestParameters: null,
    responseElements: null,
    eventID: `00000000-0000-4000-9000-${String(serial).padStart(12, "0")}`,
    readOnly: false,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: BENCH_ACCOUNT,
    eventCategory: "Management",
    ...fields,
  };
}

const tags = (timeMs: number): Record<string, unknown> =>
  record(timeMs, { eventSource: "ec2.amazonaws.com", eventName: "CreateTags" });

/** The week before: every write API once every 20 minutes, CreateTags 2 or 4 a minute; no errors. */
function* baselineBatches(fromMs: number, toMs: number): Generator<Record<string, unknown>[]> {
  let batch: Record<string, unknown>[] = [];
  for (let t = fromMs; t < toMs; t += MINUTE) {
    const minute = t / MINUTE;
    WRITE_APIS.forEach((eventName, i) => {
      if ((minute + i * 3) % 20 === 0) batch.push(record(t + 500, { eventName }));
    });
    for (let i = 0; i < (minute % 2 === 0 ? 2 : 4); i++) batch.push(tags(t + i * 1000));
    if (batch.length >= 5_000) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

const ingestBody = (records: readonly Record<string, unknown>[]): Buffer =>
  Buffer.from(JSON.stringify({ Records: records }));

async function setUpTrail(server: BenchServer): Promise<void> {
  const client = cloudTrail(server, BENCH_REGION);
  try {
    await client.send(
      new CreateTrailCommand({ Name: "audit", S3BucketName: "insights-bench", IsMultiRegionTrail: true }),
    );
    await client.send(new StartLoggingCommand({ Name: "audit" }));
    await client.send(
      new PutInsightSelectorsCommand({
        TrailName: "audit",
        InsightSelectors: [{ InsightType: "ApiCallRateInsight" }, { InsightType: "ApiErrorRateInsight" }],
      }),
    );
  } finally {
    client.destroy();
  }
}

function cloudTrail(server: BenchServer, region: string): CloudTrailClient {
  return new CloudTrailClient({
    endpoint: server.url,
    region,
    credentials: { accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET },
  });
}

/** Whether every consumer of the server (/health) has reached the journal's head. */
export async function consumersCaughtUp(url: string): Promise<boolean> {
  const health = (await (await fetch(`${url}/health`)).json()) as {
    journal: { headSeq: number };
    consumers: Record<string, { cursor: number }>;
  };
  return Object.values(health.consumers).every((consumer) => consumer.cursor >= health.journal.headSeq);
}

export async function untilCaughtUp(url: string, timeoutMs = 120_000): Promise<void> {
  const giveUp = performance.now() + timeoutMs;
  while (!(await consumersCaughtUp(url))) {
    if (performance.now() > giveUp) throw new Error("the server's consumers did not catch up");
    await sleep(100);
  }
}

interface InsightSeen {
  readonly eventID: string;
  readonly at: number;
}

/**
 * `GET /tail` (signed for the server's region, so the stream is no call in the spiking region):
 * notes when each Insights record reached the journal, by `eventName state`.
 */
async function followTail(
  server: BenchServer,
  signer: SignatureV4,
  seen: Map<string, InsightSeen>,
  onInsight: (key: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const target = new URL(server.url);
  const signed = await signer.sign({
    method: "GET",
    protocol: "http:",
    hostname: target.hostname,
    port: Number(target.port),
    path: "/tail",
    headers: { host: target.host },
  });
  const headers = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k !== "host"));
  const response = await fetch(`${server.url}/tail`, { headers, signal });
  if (response.status !== 200 || response.body === null) throw new Error(`tail answered ${response.status}`);
  let pending = "";
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.body) {
      pending += decoder.decode(chunk as Uint8Array, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.includes("AwsCloudTrailInsight")) continue;
        const r = JSON.parse(line) as { eventID: string; insightDetails: { eventName: string; state: string } };
        const key = `${r.insightDetails.eventName} ${r.insightDetails.state}`;
        if (!seen.has(key)) {
          seen.set(key, { eventID: r.eventID, at: performance.now() });
          console.error(`insights: ${key} in the journal at ${new Date().toISOString()}`);
          onInsight(key);
        }
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

/** Polls LookupEvents (EventCategory insight, by EventId) until the record shows; when it first did. */
async function visibleInLookup(client: CloudTrailClient, eventID: string, giveUpAt: number): Promise<number> {
  while (performance.now() < giveUpAt) {
    const found = await client.send(
      new LookupEventsCommand({
        EventCategory: "insight",
        LookupAttributes: [{ AttributeKey: "EventId", AttributeValue: eventID }],
      }),
    );
    if ((found.Events ?? []).length > 0) return performance.now();
    await sleep(LOOKUP_POLL_MS);
  }
  return Number.NaN;
}

/** mulberry32, so the background's times are the same from run to run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One CreateTags at exponentially distributed gaps until `signal`; the number sent. */
async function background(server: BenchServer, signer: SignatureV4, signal: AbortSignal): Promise<number> {
  const next = random(14);
  let sent = 0;
  while (!signal.aborted) {
    const gapMs = (-Math.log(1 - next()) * MINUTE) / BACKGROUND_PER_MINUTE;
    await sleep(gapMs, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) break;
    await sendIngest(server.url, signer, ingestBody([tags(Date.now())]));
    sent++;
  }
  return sent;
}

interface Spike {
  readonly run: number;
  readonly writeApi: string;
  readonly errorApi: string;
  spikeFirstAck: number;
  burstFirstAck: number;
  firstAckSecondOfMinute: number;
}

/** The run's spike and burst, one call a second from one second past `minuteMs`. */
async function spikeAt(server: BenchServer, signer: SignatureV4, spike: Spike, minuteMs: number): Promise<void> {
  const spiker = {
    type: "IAMUser",
    arn: `arn:aws:iam::${BENCH_ACCOUNT}:user/spiker`,
    accountId: BENCH_ACCOUNT,
    userName: "spiker",
  };
  await sleep(Math.max(0, minuteMs + 1000 - Date.now()));
  for (let call = 0; call < Math.max(SPIKE_CALLS, BURST_CALLS); call++) {
    const dueMs = minuteMs + 1000 * (call + 1);
    await sleep(Math.max(0, dueMs - Date.now()));
    if (call < SPIKE_CALLS) {
      const writes = Array.from({ length: RECORDS_PER_CALL }, () =>
        record(Date.now(), { eventName: spike.writeApi, userIdentity: spiker, userAgent: "spike-agent/1" }),
      );
      await sendIngest(server.url, signer, ingestBody(writes));
      if (call === 0) {
        spike.spikeFirstAck = performance.now();
        spike.firstAckSecondOfMinute = Math.round((Date.now() - minuteMs) / 100) / 10;
      }
    }
    if (call < BURST_CALLS) {
      const errors = Array.from({ length: RECORDS_PER_CALL }, () =>
        record(Date.now(), {
          eventName: spike.errorApi,
          readOnly: true,
          userIdentity: spiker,
          userAgent: "spike-agent/1",
          errorCode: "AccessDenied",
          errorMessage: `User is not authorized to perform: iam:${spike.errorApi}`,
        }),
      );
      await sendIngest(server.url, signer, ingestBody(errors));
      if (call === 0) spike.burstFirstAck = performance.now();
    }
  }
}

function summary(values: readonly number[]): LatencySummary {
  const seen = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const p50 = seen.length === 0 ? Number.NaN : seen[Math.ceil(seen.length / 2) - 1]!;
  const round = (ms: number): number => Math.round(ms / 100) / 10;
  return { p50: round(p50), max: round(seen.at(-1) ?? Number.NaN), n: seen.length };
}

async function ingestBaseline(server: BenchServer, signer: SignatureV4, untilMs: number): Promise<number> {
  const fromMs = Math.floor(untilMs / MINUTE) * MINUTE - WEEK - 10 * MINUTE;
  let events = 0;
  for (const batch of baselineBatches(fromMs, untilMs)) {
    await sendIngest(server.url, signer, ingestBody(batch));
    events += batch.length;
  }
  await untilCaughtUp(server.url);
  return events;
}

/** The Start (and with `waitForEnd` the End) of every series, or until the bench gives up on them. */
async function measure(
  server: BenchServer,
  spikes: readonly Spike[],
  waitForEnd: boolean,
  runSpikes: () => Promise<void>,
): Promise<Map<string, { journal: number; lookup: number }>> {
  const seen = new Map<string, InsightSeen>();
  const lookups = new Map<string, Promise<number>>();
  const lookupClient = cloudTrail(server, REGION);
  const stopTail = new AbortController();
  // Starts come about 2 minutes after their minute, Ends 5 quiet minutes later: give up well after.
  const giveUpAt = performance.now() + (spikes.length + (waitForEnd ? 12 : 5)) * MINUTE;
  const tail = followTail(
    server,
    benchSigner(),
    seen,
    (key) => lookups.set(key, visibleInLookup(lookupClient, seen.get(key)!.eventID, giveUpAt)),
    stopTail.signal,
  );
  try {
    await runSpikes();
    const wanted = spikes.flatMap((s) =>
      [s.writeApi, s.errorApi].flatMap((api) => (waitForEnd ? [`${api} Start`, `${api} End`] : [`${api} Start`])),
    );
    while (!wanted.every((key) => seen.has(key)) && performance.now() < giveUpAt) await sleep(200);
    const times = new Map<string, { journal: number; lookup: number }>();
    for (const [key, lookup] of lookups) times.set(key, { journal: seen.get(key)!.at, lookup: await lookup });
    return times;
  } finally {
    stopTail.abort();
    await tail.catch(() => undefined);
    lookupClient.destroy();
  }
}

function seriesOf(spikes: readonly Spike[], times: Map<string, { journal: number; lookup: number }>): SeriesLatency[] {
  return spikes.flatMap((s) =>
    (
      [
        ["ApiCallRateInsight", s.writeApi, s.spikeFirstAck],
        ["ApiErrorRateInsight", s.errorApi, s.burstFirstAck],
      ] as const
    ).map(([insightType, eventName, firstAck]) => {
      const at = (state: string, where: "journal" | "lookup"): number =>
        Math.round((times.get(`${eventName} ${state}`)?.[where] ?? Number.NaN) - firstAck);
      return {
        run: s.run,
        insightType,
        eventName,
        firstAckSecondOfMinute: s.firstAckSecondOfMinute,
        startInJournalMs: at("Start", "journal"),
        startInLookupMs: at("Start", "lookup"),
        endInJournalMs: at("End", "journal"),
        endInLookupMs: at("End", "lookup"),
      };
    }),
  );
}

export async function benchInsightsLatency(runs: number, waitForEnd: boolean): Promise<InsightsLatencyBench> {
  if (runs < 1 || runs > MAX_RUNS) throw new Error(`runs must be 1–${MAX_RUNS}`);
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-bench-insights-"));
  const server = await startBenchServer(dataDir);
  const stopBackground = new AbortController();
  try {
    const signer = benchSigner();
    const baselineEvents = await ingestBaseline(server, signer, Date.now() - MINUTE);
    await setUpTrail(server);
    const backgroundSent = background(server, signer, stopBackground.signal);
    // The first spike a minute on, at least: live traffic has closed the baseline's last minutes.
    const firstMinute = Math.ceil((Date.now() + 30_000) / MINUTE) * MINUTE;
    const spikes: Spike[] = Array.from({ length: runs }, (_, run) => ({
      run: run + 1,
      writeApi: WRITE_APIS[run]!,
      errorApi: ERROR_APIS[run]!,
      spikeFirstAck: Number.NaN,
      burstFirstAck: Number.NaN,
      firstAckSecondOfMinute: Number.NaN,
    }));
    const times = await measure(server, spikes, waitForEnd, async () => {
      for (const [run, spike] of spikes.entries()) await spikeAt(server, signer, spike, firstMinute + run * MINUTE);
    });
    stopBackground.abort();
    const series = seriesOf(spikes, times);
    return {
      runs,
      waitedForEnd: waitForEnd,
      baselineEvents,
      backgroundEvents: await backgroundSent,
      series,
      startInLookupSeconds: summary(series.map((s) => s.startInLookupMs)),
      startInJournalSeconds: summary(series.map((s) => s.startInJournalMs)),
      endInLookupSeconds: summary(series.map((s) => s.endInLookupMs)),
    };
  } finally {
    stopBackground.abort();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
