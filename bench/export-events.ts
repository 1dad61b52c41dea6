import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { presignedUrl } from "../src/client/presigned-url.js";
import { loadSamples, recordGenerator } from "./event-history-records.js";
import {
  BENCH_ACCESS_KEY_ID,
  BENCH_REGION,
  BENCH_SECRET,
  benchSigner,
  rssOf,
  sendIngest,
  startBenchServer,
} from "./server-process.js";

/**
 * The streamed export (`GET /export-events`, decision 0026) of a large search: `events` management
 * records of one region are ingested into a real `cairn server`, then exported once per format
 * through a presigned URL, the body read and counted but not kept. The server's RSS is sampled
 * every 50 ms during each export: it must stay flat (one LookupEvents page in flight), not grow
 * with the file as an export built in memory would.
 * Usage: node dist/bench/export-events.js [events=200000] [--while-ingesting-only]
 */
export interface ExportFormatRun {
  readonly events: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly eventsPerSec: number;
  readonly serverRssBeforeBytes: number;
  readonly serverRssPeakBytes: number;
  readonly serverRssAfterBytes: number;
  /** Server RSS (MB) as each further tenth of the expected events arrives: flat, not rising with the file. */
  readonly serverRssMbByTenth: number[];
}

export interface ExportEventsBench {
  readonly name: "export-events";
  readonly events: number;
  readonly ingestSeconds: number;
  readonly formats: Record<string, ExportFormatRun>;
  /**
   * Baseline, what the console did before: LookupEvents page by page (50 a call) through the AWS SDK,
   * each record kept as text as the old export kept it until the file was saved.
   */
  readonly baselineLookupPages: { events: number; seconds: number; eventsPerSec: number; heldBytes: number };
  /**
   * An NDJSON export of the same events while one client keeps ingesting 1,000-record batches of newer
   * events (outside the export's window): Event history's index is busy, the exported set fixed.
   */
  readonly ndjsonWhileIngesting: { events: number; seconds: number; eventsPerSec: number; ingestedMeanwhile: number };
}

const BATCH = 1000;

/** Records of the bench's shapes, all management events of one region (Event history's scope). */
function bodies(events: number): Buffer[] {
  const nowMs = Date.now();
  const generator = recordGenerator(loadSamples(), events, nowMs - 6 * 3_600_000, nowMs - 1_000);
  const out: Buffer[] = [];
  for (let start = 0; start < events; start += BATCH) {
    const records = [];
    for (let i = start; i < Math.min(events, start + BATCH); i++) {
      const { eventCategory: _category, managementEvent: _management, ...record } = generator.record(i);
      records.push({ ...record, awsRegion: BENCH_REGION });
    }
    out.push(Buffer.from(JSON.stringify({ Records: records })));
  }
  return out;
}

/** Until Event history has indexed everything journaled (the export reads the index). */
async function indexed(url: string): Promise<void> {
  for (;;) {
    const health = (await (await fetch(`${url}/health`)).json()) as {
      consumers: Record<string, { lagRecords: number }>;
    };
    if ((health.consumers["event-history"]?.lagRecords ?? 1) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function exportOnce(
  url: string,
  pid: number,
  format: string,
  expected: number,
  extra: Record<string, string> = {},
): Promise<ExportFormatRun> {
  const link = await presignedUrl(
    {
      endpointUrl: url,
      region: BENCH_REGION,
      credentials: { accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET },
    },
    { path: "/export-events", query: { format, ...extra } },
    300,
    new Date(),
  );
  const before = rssOf(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
  const started = performance.now();
  const response = await fetch(link);
  if (!response.ok || response.body === null) throw new Error(`export answered ${response.status}`);
  let bytes = 0;
  let newlines = 0;
  const byTenth: number[] = [];
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (const byte of chunk) if (byte === 10) newlines++;
    if (newlines >= ((byTenth.length + 1) * expected) / 10) byTenth.push(Math.round(rssOf(pid) / 1e6));
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  // CSV: a header line, CRLF ends; JSON: the opening and closing lines; NDJSON: one line an event.
  const events = format === "ndjson" ? newlines : format === "csv" ? newlines - 1 : newlines - 2;
  return {
    events,
    bytes,
    seconds: Number(seconds.toFixed(2)),
    eventsPerSec: Math.round(events / seconds),
    serverRssBeforeBytes: before,
    serverRssPeakBytes: peak,
    serverRssAfterBytes: rssOf(pid),
    serverRssMbByTenth: byTenth,
  };
}

async function lookupPages(url: string): Promise<ExportEventsBench["baselineLookupPages"]> {
  const client = new CloudTrailClient({
    endpoint: url,
    region: BENCH_REGION,
    credentials: { accessKeyId: BENCH_ACCESS_KEY_ID, secretAccessKey: BENCH_SECRET },
  });
  const held: string[] = [];
  let heldBytes = 0;
  const started = performance.now();
  let token: string | undefined;
  do {
    const page = await client.send(new LookupEventsCommand({ MaxResults: 50, ...(token ? { NextToken: token } : {}) }));
    for (const event of page.Events ?? []) {
      held.push(event.CloudTrailEvent ?? "");
      heldBytes += (event.CloudTrailEvent ?? "").length + 1;
    }
    token = page.NextToken;
  } while (token);
  const seconds = (performance.now() - started) / 1000;
  client.destroy();
  return {
    events: held.length,
    seconds: Number(seconds.toFixed(2)),
    eventsPerSec: Math.round(held.length / seconds),
    heldBytes,
  };
}

async function exportWhileIngesting(
  url: string,
  pid: number,
  events: number,
): Promise<ExportEventsBench["ndjsonWhileIngesting"]> {
  const signer = benchSigner();
  const batch = (JSON.parse(bodies(BATCH)[0]!.toString("utf8")) as { Records: Record<string, unknown>[] }).Records;
  let stop = false;
  let ingested = 0;
  const ingesting = (async () => {
    while (!stop) {
      // Fresh event IDs each time, so every batch is new work for the journal and the index.
      // Newer than the export's window: they load the index without joining the exported search.
      const eventTime = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
      const records = batch.map((record) => ({ ...record, eventID: randomUUID(), eventTime }));
      await sendIngest(url, signer, Buffer.from(JSON.stringify({ Records: records })));
      ingested += BATCH;
    }
  })();
  try {
    const endTime = new Date(Date.now() - 1000).toISOString();
    const run = await exportOnce(url, pid, "ndjson", events, { endTime });
    return { events: run.events, seconds: run.seconds, eventsPerSec: run.eventsPerSec, ingestedMeanwhile: ingested };
  } finally {
    stop = true;
    await ingesting;
  }
}

export async function benchExportEvents(events = 200_000): Promise<ExportEventsBench> {
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-bench-export-"));
  const server = await startBenchServer(dataDir);
  try {
    const signer = benchSigner();
    const started = performance.now();
    let next = 0;
    const all = bodies(events);
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < all.length) await sendIngest(server.url, signer, all[next++]!);
      }),
    );
    await indexed(server.url);
    const ingestSeconds = Number(((performance.now() - started) / 1000).toFixed(1));
    const formats: Record<string, ExportFormatRun> = {};
    // `--while-ingesting-only`: just the export under ingest (comparing builds on the index wait).
    const all3 = !process.argv.includes("--while-ingesting-only");
    for (const format of all3 ? ["ndjson", "csv", "json"] : [])
      formats[format] = await exportOnce(server.url, server.pid, format, events);
    const baselineLookupPages = all3
      ? await lookupPages(server.url)
      : { events: 0, seconds: 0, eventsPerSec: 0, heldBytes: 0 };
    const ndjsonWhileIngesting = await exportWhileIngesting(server.url, server.pid, events);
    return { name: "export-events", events, ingestSeconds, formats, baselineLookupPages, ndjsonWhileIngesting };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [events] = process.argv.slice(2, 3).map(Number);
  console.log(JSON.stringify(await benchExportEvents(events || undefined), null, 2));
}
