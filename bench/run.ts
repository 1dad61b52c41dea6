import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { benchNormalize } from "./normalize.js";
import { benchJournalAppend } from "./journal-append.js";
import { benchHttpIngest } from "./http-ingest.js";
import { benchSelfAudit, printSelfAuditBench } from "./self-audit.js";
import { benchEventHistory } from "./event-history.js";
import { benchTrailArchiveScan } from "./trail-archive-scan.js";
import { benchTrailDelivery, trailDeliveryOptionsFromArgs } from "./trail-delivery.js";
import { benchProxy, printProxyBench } from "./proxy.js";
import { benchLake, printLakeBench } from "./lake.js";
import { benchCluster, printClusterBench } from "./cluster.js";
import { benchPostgresEventHistory, printEventHistoryBackends } from "./event-history-postgres.js";
import { benchSigmaEval, benchSigmaIngest, printSigmaBench, printSigmaIngest } from "./sigma-eval.js";
import { benchDetection, printDetectionBench } from "./detection.js";
import { benchInsights, printInsightsBench } from "./insights.js";
import { clusterEnginesMissingReason } from "../test/helpers/cluster-engines.js";

/**
 * `npm run bench`: every benchmark of the core, printed side by side with the alternative a user
 * would pick, and written as JSON to bench/results/. Not part of the tests (timings are noisy on a
 * shared machine). `--history-events=N` sets the Event history size (default 1,000,000; the README's
 * 10M figures come from `--history-events=10000000`, about 20 minutes). Trail delivery takes its
 * own flags with a `trail-` prefix (`--trail-rates=10000,5000`, `--trail-day-files=1440`, …; see
 * bench/trail-delivery.ts), about 4 minutes with the defaults. The Lake bench runs last, over
 * `--lake-events=N` (default 200,000, about a minute; the README's 10M figure comes from
 * `node dist/bench/lake.js 10000000`). Then one cluster node against the embedded server
 * (bench/cluster.ts; `--cluster-events=N`, default 200,000, `--cluster-rounds=N`, default 2, about 4
 * minutes; `--no-cluster` skips it; it needs PostgreSQL, nats-server and moto). The Event history
 * on PostgreSQL runs over the same `--history-events` beside the embedded one (skipped with the cluster).
 * Read-only API calls polled by 1, 4 and 16 clients (bench/self-audit.ts: calls/s and fsyncs per call,
 * `--self-audit-calls=N` per client count, default 2,000).
 * Live Sigma (bench/sigma-eval.ts): the cost per record with every SigmaHQ rule, and durable ingest
 * without and with them (`--sigma-ingest-events=N`, default 100,000).
 * Detection (bench/detection.ts: ingest with 0 vs 100 EventBridge rules, record → webhook latency,
 * Sigma in process) runs over `--detection-events=N` (default 100,000, about 7 minutes on a loaded
 * 2-core machine); `--no-detection` skips it.
 * Insights (bench/insights.ts: ingest without vs with Insight selectors over `--insights-events=N`,
 * default 50,000; a spike's first event → its Start record in LookupEvents, `--insights-runs=N`
 * runs, default 1; about 4 minutes, most of it the wall clock; `--insights-end` also waits for the End
 * records, 5 quiet minutes later; the README's figures come from `node dist/bench/insights.js`);
 * `--no-insights` skips it.
 */
const flags = new Map(process.argv.slice(2).map((arg) => arg.replace(/^--/, "").split("=") as [string, string]));
const historyEvents = Number(flags.get("history-events") ?? 1_000_000);

const normalize = await benchNormalize();
const sigma = await benchSigmaEval();
const journal = await benchJournalAppend();
const ingest = await benchHttpIngest(Number(flags.get("ingest-events") ?? 200_000));
const selfAudit = await benchSelfAudit(Number(flags.get("self-audit-calls") ?? 2000));
const sigmaIngest = await benchSigmaIngest(Number(flags.get("sigma-ingest-events") ?? 100_000));
const history = await benchEventHistory({ events: historyEvents });
const scan = await benchTrailArchiveScan(historyEvents);
const clusterMissing = flags.has("no-cluster") || clusterEnginesMissingReason("the cluster benchmarks") !== false;
const historyPostgres = clusterMissing ? undefined : await benchPostgresEventHistory(historyEvents);
const trailDelivery = await benchTrailDelivery(
  trailDeliveryOptionsFromArgs(
    process.argv
      .slice(2)
      .filter((arg) => arg.startsWith("--trail-"))
      .map((arg) => arg.replace(/^--trail-/, "--")),
  ),
);

const detection = flags.has("no-detection")
  ? undefined
  : await benchDetection({ events: Number(flags.get("detection-events") ?? 100_000) });
const insights = flags.has("no-insights")
  ? undefined
  : await benchInsights({
      events: Number(flags.get("insights-events") ?? 50_000),
      runs: Number(flags.get("insights-runs") ?? 1),
      waitForEnd: flags.has("insights-end"),
      rounds: 1,
    });
const proxy = await benchProxy();
const lake = await benchLake({ events: Number(flags.get("lake-events") ?? 200_000) });
const cluster = clusterMissing
  ? undefined
  : await benchCluster({
      events: Number(flags.get("cluster-events") ?? 200_000),
      rounds: Number(flags.get("cluster-rounds") ?? 2),
      clients: 4,
      batch: 1000,
      rate: 2000,
    });

const results = {
  at: new Date().toISOString(),
  node: process.version,
  normalize,
  sigma,
  sigmaIngest,
  journal,
  ingest,
  selfAudit,
  history,
  historyPostgres,
  scan,
  trailDelivery,
  detection,
  insights,
  proxy,
  lake,
  cluster,
};
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
printSelfAuditBench(selfAudit);
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
console.log(
  `\nTrail delivery: acknowledgement → log file readable in the bucket (CAIRN_DELIVERY_INTERVAL_SECONDS=${trailDelivery.deliveryIntervalSeconds})`,
);
console.table(
  trailDelivery.latency.map((l) => ({
    "steady ingest (events/s)": `${l.targetEventsPerSec} (achieved ${l.achievedEventsPerSec})`,
    "cairn p50 ms": l.p50Ms,
    "cairn p99 ms": l.p99Ms,
    "AWS CloudTrail (average) ms": l.awsAverageMs,
    "AWS average ÷ cairn p99": `${Math.round(l.awsAverageMs / Math.max(l.p99Ms, 1))}x`,
  })),
);
const t = trailDelivery.throughput;
console.table([
  {
    figure: `${t.events.toLocaleString("en")} events, as fast as ${t.clients} clients ingest`,
    "delivered to the bucket (events/s)": t.deliveredEventsPerSec,
    "durable ingest (events/s)": t.ingestEventsPerSec,
    ratio: ratio(t.deliveredEventsPerSec, t.ingestEventsPerSec),
    "steady ratio (lag's growth)": `${t.steadyRatio}x`,
    "lag while ingesting p50 / max (s)": `${t.lagSeconds.p50} / ${t.lagSeconds.max}`,
    "last event readable after last ack (ms)": t.tailMs,
  },
]);
const d = trailDelivery.day;
if (d !== undefined) {
  console.log(
    `\nvalidate-logs over ${d.logFiles} log files (${d.eventsPerFile} events each) and ${d.digests} digests` +
      (d.extrapolationFactor === 1
        ? " (a day of one-minute files)"
        : `; a day (1,440 files, 24 digests) extrapolated linearly ×${d.extrapolationFactor}`),
  );
  console.table(
    d.validate.map((v) => ({
      tool: v.tool,
      seconds: v.seconds,
      "files/s": v.filesPerSec,
      "seconds per day": d.daySecondsByTool[v.tool],
      result: v.exitCode === 0 ? v.summary : `exit ${v.exitCode}`,
    })),
  );
}
if (historyPostgres !== undefined) printEventHistoryBackends(history.latencies, historyPostgres);
if (detection !== undefined) printDetectionBench(detection);
if (insights !== undefined) printInsightsBench(insights);
printProxyBench(proxy);
printLakeBench(lake);
printSigmaBench(sigma, ingest.serverCpuMicrosPerEvent);
printSigmaIngest(sigmaIngest);
if (cluster !== undefined) printClusterBench(cluster);
console.log(`\nResults written to ${file}`);
