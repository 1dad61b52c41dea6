import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  CloudTrailClient,
  CreateEventDataStoreCommand,
  CreateTrailCommand,
  LookupEventsCommand,
  StartLoggingCommand,
} from "@aws-sdk/client-cloudtrail";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { openPostgresLakeCatalog, openSqliteLakeCatalog, readSqliteLakeKeys } from "../../src/lake/catalog/index.js";
import { openPostgresDatabase } from "../../src/stores/postgres/index.js";
import {
  openPostgresQuarantineStore,
  openSqliteQuarantineStore,
  type QuarantinedRecord,
} from "../../src/stores/quarantine/index.js";
import { awsCliMissingReason, runAws, runCommand } from "../helpers/aws-cli.js";
import { motoClient } from "../helpers/cluster-nodes.js";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import { seedJournal } from "../helpers/poisoned-journal.js";
import { pollUntil } from "../helpers/poll.js";
import { addPrincipal } from "../helpers/principals.js";
import { recentRecords } from "../helpers/sample-records.js";
import {
  CLI,
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { deliveredOnS3, ingestLoad, logFileKeysOnS3 } from "../helpers/trail-delivery.js";
import { startHttpReceiver, type HttpReceiver } from "../helpers/http-receiver.js";
import {
  checkMigratedDetections,
  checkMigratedDetectionState,
  setUpDetections,
} from "../helpers/migrated-detections.js";
import {
  eventFailures,
  eventStoreViews,
  FORBIDDEN_RULE,
  ingestCallNamed,
  MIGRATED_API_KEY,
  requestsTo,
  setUpEventStores,
} from "../helpers/migrated-events.js";

const missing = clusterEnginesMissingReason("the cairn migrate --to-cluster round trip");
/** SNS and EventBridge are set up and checked with the AWS CLI: without it, that part is skipped (loudly). */
const withAwsCli = awsCliMissingReason() === false;
/** What the first full run copies of SNS and EventBridge (setUpEventStores: one topic, two rules). */
const EVENT_STORE_COUNTS: Readonly<Record<string, number>> = {
  ...{ "SNS topics": 1, "SNS subscriptions": 1, "rule delivery cursor": 1, "queued deliveries": 1 },
  ...{ "delivery failures": 1, connections: 1, "API destinations": 2, "EventBridge rules": 2, "rule targets": 2 },
};

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const BUCKET = "migrated-trail-logs";
const WAIT = { timeoutMs: 90_000, intervalMs: 250 };
const FAST_DELIVERY = { CAIRN_DELIVERY_INTERVAL_SECONDS: "1", CAIRN_DIGEST_INTERVAL_SECONDS: "2" };
const FAST_LAKE = { CAIRN_LAKE_FLUSH_INTERVAL_MS: "500" };

/** Every file under `dir` (recursively), as paths; none when it does not exist. */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
  } catch {
    return [];
  }
}

/** What the embedded server delivered to its own bucket directory: eventIDs in log files, and how many digests. */
function embeddedDelivery(dataDir: string): { ids: Set<string>; digests: number } {
  const root = join(dataDir, "buckets", BUCKET, "AWSLogs", TEST_ACCOUNT_ID);
  const ids = new Set<string>();
  for (const path of filesUnder(join(root, "CloudTrail")).filter((p) => p.endsWith(".json.gz"))) {
    const records = (
      JSON.parse(gunzipSync(readFileSync(path)).toString("utf8")) as { Records: Array<{ eventID: string }> }
    ).Records;
    for (const record of records) ids.add(record.eventID);
  }
  const digests = filesUnder(join(root, "CloudTrail-Digest")).filter((p) => p.endsWith(".json.gz")).length;
  return { ids, digests };
}

describe("cairn migrate --to-cluster: an embedded data dir moved into a cluster", { skip: missing }, () => {
  let engines: ClusterEngines;
  let s3: S3Client;
  let receiver: HttpReceiver;
  /** What the receiver answers on /queued: 503 while the embedded server runs, 200 once the cluster node does. */
  let queuedStatus = 503;
  const dirs: string[] = [];

  before(async () => {
    engines = await startClusterEngines();
    s3 = motoClient(engines);
    receiver = await startHttpReceiver();
    receiver.answerWith((request, response) => {
      response.writeHead(request.url === "/forbidden" ? 403 : request.url === "/queued" ? queuedStatus : 200);
      response.end();
    });
  });
  after(async () => {
    await receiver?.close();
    s3?.destroy();
    await engines?.stop();
    dirs.forEach(removeDataDir);
  });

  /** `cairn migrate --to-cluster` as a child process with the cluster's settings (no node id: it is no node). */
  const migrate = (dataDir: string, extra: Record<string, string> = {}) => {
    const { CAIRN_NODE_ID: _node, ...cluster } = engines.nodeEnv("migrate", { CAIRN_S3_FORCE_PATH_STYLE: "true" });
    return runCommand(process.execPath, [CLI, "migrate", "--to-cluster", "--data-dir", dataDir], {
      PATH: process.env["PATH"] ?? "",
      HOME: process.env["HOME"] ?? "/tmp",
      ...cluster,
      ...extra,
    });
  };

  it("keeps seqs, EventIds, keys, trails, the quarantine, SNS, EventBridge rules, queued deliveries, Sigma matches, Insights series and the digest chain: validate-logs across the move says valid", async () => {
    const dir = makeDataDir("cairn-migrate-");
    dirs.push(dir);
    const dataDir = join(dir, "embedded");
    // Two records an older Cairn journaled, which the embedded server's Event history quarantines.
    const [good, ...poisoned] = recentRecords(3, { accountId: TEST_ACCOUNT_ID });
    await seedJournal(dataDir, [poisoned[0]!, good!, poisoned[1]!], new Set(poisoned));
    // The embedded server seals its secrets with its own generated master.key, not the cluster's.
    const embedded = await startServerProcess({ dataDir, env: { ...FAST_DELIVERY, ...FAST_LAKE } });
    let startTime: string;
    let trailArn: string;
    let before: string[];
    let principal: { accessKeyId: string; secretAccessKey: string };
    let queuedEventId: string;
    let embeddedViews: Record<string, unknown>;
    let sigmaMatches: Array<Record<string, unknown>>;
    try {
      principal = await addPrincipal(dataDir, { name: "migrated-user", accountId: TEST_ACCOUNT_ID });
      const ct = new CloudTrailClient({ endpoint: embedded.url, region: "us-east-1", credentials: admin });
      startTime = new Date(Date.now() - 60_000).toISOString();
      trailArn = (
        await ct.send(new CreateTrailCommand({ Name: "moved", S3BucketName: BUCKET, EnableLogFileValidation: true }))
      ).TrailARN!;
      await ct.send(new StartLoggingCommand({ Name: "moved" }));
      await ct.send(new CreateEventDataStoreCommand({ Name: "moved-lake" }));
      ct.destroy();
      before = await ingestLoad(embedded, 2, 10);
      await pollUntil(() => lakeRows(dataDir).then((rows) => rows >= before.length), {
        ...WAIT,
        message: "the embedded Lake to commit the events to Parquet",
      });
      // Every event in a log file, and a digest written after the last of them.
      await pollUntil(() => before.every((id) => embeddedDelivery(dataDir).ids.has(id)), {
        ...WAIT,
        message: "the embedded server to deliver the events",
      });
      const digests = embeddedDelivery(dataDir).digests;
      await pollUntil(() => embeddedDelivery(dataDir).digests > digests, { ...WAIT, message: "an embedded digest" });
      await pollUntil(async () => (await embeddedQuarantine(dataDir)).length === poisoned.length, {
        ...WAIT,
        message: "the embedded server to quarantine the poisoned records",
      });
      // SNS and EventBridge: a delivery the receiver keeps refusing (503) stays queued; a 403 is kept as a failure.
      if (withAwsCli) {
        queuedEventId = await setUpEventStores(embedded, receiver);
        embeddedViews = await eventStoreViews(embedded);
      }
      // Sigma: an account rule and its matches; Insights counts every record on its own.
      sigmaMatches = await setUpDetections(embedded, dir);

      const refused = await migrate(dataDir);
      assert.equal(refused.code, 1, `a running server's data dir is refused:\n${refused.stdout}${refused.stderr}`);
      assert.match(refused.stderr, /^Error: .*in use by another process.*stop it first\.\n$/);
    } finally {
      await embedded.stop();
    }

    const quarantined = await embeddedQuarantine(dataDir);

    // A run cut short (S3 unreachable: the journal, quarantine, principals, keys and owners are
    // copied, the objects and trails not), then a run that finishes from where it stopped.
    const cut = await migrate(dataDir, { CAIRN_S3_ENDPOINT: "http://127.0.0.1:1" });
    assert.equal(cut.code, 1, `interrupted:\n${cut.stdout}\n${cut.stderr}`);
    assert.equal(cut.stdout, "");
    // Progress on stderr as the steps ran, then the failure in one line naming its step.
    assert.match(cut.stderr, /^cairn migrate: step 1\/13: copy the journal\n/);
    assert.match(cut.stderr, /\ncairn migrate: step 2\/13 done in [\d.]+ s: quarantined 2 copied, 0 already there\n/);
    assert.match(
      cut.stderr,
      /\ncairn migrate: step 5\/13: copy the buckets' objects\nError: could not copy the buckets' objects: [^\n]*\n$/,
    );
    const moved = await migrate(dataDir);
    assert.equal(moved.code, 0, `migrate:\n${moved.stdout}\n${moved.stderr}`);
    assert.match(
      moved.stderr,
      /\ncairn migrate: step 6\/13 done in [\d.]+ s: trails 1 copied, 0 already there; delivery states 1 copied/,
    );
    assert.match(moved.stderr, /\ncairn migrate: all 13 steps done in [\d.]+ s\n$/);
    assert.match(moved.stdout, /^Migrated /);
    assert.match(moved.stdout, /journal entries +0 copied, \d+ already there \(seqs 1–\d+\)/);
    assert.match(moved.stdout, /quarantined +0 copied, 2 already there/);
    assert.match(moved.stdout, /principals +0 copied, 2 already there/);
    assert.match(moved.stdout, /trails +1 copied/);
    assert.match(moved.stdout, /delivery states +1 copied/);
    assert.match(moved.stdout, /signing keys +0 copied, 1 already there/);
    assert.doesNotMatch(moved.stdout, /bucket objects +0 copied/);
    assert.match(moved.stdout, /event data stores +1 copied/);
    if (withAwsCli)
      for (const [kind, count] of Object.entries(EVENT_STORE_COUNTS))
        assert.match(moved.stdout, new RegExp(`\\n  ${kind} +${count} copied, 0 already there\\n`));
    if (withAwsCli)
      assert.match(
        moved.stderr,
        /\ncairn migrate: step 9\/13 done in [\d.]+ s: connections 1 copied, 0 already there;/,
      );
    assert.match(moved.stdout, /\n {2}Sigma rules +1 copied, 0 already there\n/);
    assert.match(moved.stdout, /\n {2}Sigma matches +2 copied, 0 already there\n/);
    assert.match(moved.stdout, /\n {2}Sigma cursor +1 copied, 0 already there\n/);
    assert.match(moved.stdout, /\n {2}Insights series +[1-9]\d* copied, 0 already there\n/);
    await checkMigratedDetectionState(dataDir, engines.database.url);
    for (const output of [cut, moved])
      assert.ok(!`${output.stdout}${output.stderr}`.includes(MIGRATED_API_KEY), "no secret in migrate's output");
    await checkMigratedLake(dataDir, engines, s3);
    // A second run finds everything there and copies nothing.
    const again = await migrate(dataDir);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^Nothing left to migrate/);
    for (const line of again.stdout.split("\n").filter((l) => l.includes(" copied, ")))
      assert.match(line, / 0 copied, /, `nothing copied twice: ${line}`);

    queuedStatus = 200;
    const refusedAttempts = requestsTo(receiver, "/queued").length;
    const node = await startServerProcess({
      dataDir: join(dir, "node"),
      env: engines.nodeEnv("node-a", { CAIRN_S3_FORCE_PATH_STYLE: "true", ...FAST_DELIVERY }),
    });
    try {
      await checkMigratedNode(node, principal!, before!);
      if (withAwsCli)
        await checkMigratedEvents(node, receiver, embeddedViews!, { queuedEventId: queuedEventId!, refusedAttempts });
      const after = await ingestLoad(node, 2, 10);
      await pollUntil(
        async () => {
          const counts = await deliveredOnS3(s3, BUCKET);
          return [...before!, ...after].every((id) => counts.get(id) === 1) && counts;
        },
        { ...WAIT, message: "the cluster node to deliver the new events, and the moved files to be there once" },
      );
      // Loudly skipped without the AWS CLI (awsCliMissingReason prints why).
      if (withAwsCli) await validateAcrossTheMove(node, engines, s3, trailArn!, startTime!);
      // Last on the node: the record it ingests would be one more log file for validate-logs to wait for.
      await checkMigratedDetections(node, sigmaMatches!);
    } finally {
      await node.stop();
    }
    // The node's Event history met the same records: the cluster still lists each once, as the embedded server did.
    await checkMigratedQuarantine(engines, quarantined, { dismiss: quarantined[0]! });
    // After the cluster appended, delivered and signed on its own, and an operator dismissed a
    // quarantined record there, a run still copies nothing (the dismissed record stays dismissed).
    const afterUse = await migrate(dataDir);
    assert.equal(afterUse.code, 0, afterUse.stderr);
    assert.match(afterUse.stdout, /^Nothing left to migrate/);
    assert.match(afterUse.stdout, /quarantined +0 copied, 2 already there/);
    // The delivery the node made is not queued again (it would be sent twice).
    if (withAwsCli) assert.match(afterUse.stdout, /queued deliveries +0 copied, 1 already there/);
    await checkMigratedQuarantine(engines, quarantined.slice(1));
  });
});

/**
 * The node shows SNS and EventBridge as the embedded server did (topics, subscriptions, rules,
 * targets, the connection without its secret, the kept failure), delivers the queued event once the
 * receiver takes it, with the API key the connection was created with (so the secret was re-sealed
 * for the cluster's key), and did not match the moved journal again (the rule cursor came along): a
 * new refused event is the only failure added.
 */
async function checkMigratedEvents(
  node: ServerProcess,
  receiver: HttpReceiver,
  embeddedViews: Record<string, unknown>,
  expected: { queuedEventId: string; refusedAttempts: number },
): Promise<void> {
  const views = await eventStoreViews(node);
  assert.deepEqual(views, embeddedViews);
  assert.ok(!JSON.stringify(views).includes(MIGRATED_API_KEY), "describe-connection shows no secret");
  const delivered = await pollUntil(
    () => {
      const since = requestsTo(receiver, "/queued").slice(expected.refusedAttempts);
      return since.length > 0 && since;
    },
    {
      ...WAIT,
      message: "the cluster node to deliver the queued event",
    },
  );
  assert.equal(delivered.length, 1);
  assert.equal(delivered[0]!.headers["x-api-key"], MIGRATED_API_KEY);
  assert.equal(
    (JSON.parse(delivered[0]!.body) as { detail: { eventID: string } }).detail.eventID,
    expected.queuedEventId,
  );
  const fresh = await ingestCallNamed(node, `Migrated${FORBIDDEN_RULE}`);
  const failures = await pollUntil(
    async () => {
      const listed = await eventFailures(node, FORBIDDEN_RULE);
      return listed.some((failure) => failure["CloudTrailEventId"] === fresh) && listed;
    },
    { ...WAIT, message: "the node to keep the new refused event as a failure" },
  );
  assert.deepEqual(failures.slice(0, 1), embeddedViews["failures"]);
  assert.equal(failures.length, 2, "the old refused event was not matched and sent again");
}

/** LookupEvents on the cluster node, signed with the migrated principal's key, finds the moved events by their EventIds. */
async function checkMigratedNode(
  node: ServerProcess,
  principal: { accessKeyId: string; secretAccessKey: string },
  ids: readonly string[],
): Promise<void> {
  const ct = new CloudTrailClient({ endpoint: node.url, region: "us-east-1", credentials: principal, maxAttempts: 1 });
  try {
    for (const id of [ids[0]!, ids.at(-1)!]) {
      const found = await pollUntil(
        async () => {
          const page = await ct.send(
            new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventId", AttributeValue: id }] }),
          );
          return (page.Events ?? []).length > 0 && page.Events;
        },
        { ...WAIT, message: `LookupEvents on the cluster to find ${id}` },
      );
      assert.deepEqual(
        found.map((event) => event.EventId),
        [id],
      );
    }
  } finally {
    ct.destroy();
  }
}

/**
 * The real `aws cloudtrail validate-logs` from before the move to now, polled until a digest the
 * cluster node wrote covers every log file on S3 (the embedded server's and the node's): the chain
 * runs through the move.
 */
async function validateAcrossTheMove(
  node: ServerProcess,
  engines: ClusterEngines,
  s3: S3Client,
  trailArn: string,
  startTime: string,
): Promise<void> {
  await pollUntil(
    async () => {
      const validation = await runAws(
        node.dataDir,
        [
          ...["cloudtrail", "validate-logs", "--trail-arn", trailArn, "--start-time", startTime],
          ...["--endpoint-url", node.url, "--region", "us-east-1"],
        ],
        { AWS_ENDPOINT_URL_S3: engines.moto.endpoint },
      );
      assert.equal(validation.code, 0, `validate-logs across the move:\n${validation.stdout}\n${validation.stderr}`);
      const valid = /(\d+)\/(\d+) log files valid/.exec(validation.stdout);
      const onS3 = (await logFileKeysOnS3(s3, BUCKET)).length;
      return valid !== null && Number(valid[1]) === onS3 && valid[1] === valid[2];
    },
    { ...WAIT, intervalMs: 2_000, message: "validate-logs to cover the log files from before and after the move" },
  );
}

/** What the embedded server quarantined (read beside it while it runs). */
async function embeddedQuarantine(dataDir: string): Promise<QuarantinedRecord[]> {
  const store = openSqliteQuarantineStore(join(dataDir, "quarantine.db"));
  try {
    return (await store.list({ maxResults: 100 })).records;
  } finally {
    await store.close();
  }
}

/** The cluster's quarantine holds `expected` exactly (times and errors included); then dismisses `dismiss`, if given. */
async function checkMigratedQuarantine(
  engines: ClusterEngines,
  expected: readonly QuarantinedRecord[],
  options: { dismiss?: QuarantinedRecord } = {},
): Promise<void> {
  const db = openPostgresDatabase({ url: engines.database.url });
  try {
    const cluster = await openPostgresQuarantineStore(db);
    assert.deepEqual((await cluster.list({ maxResults: 100 })).records, expected);
    if (options.dismiss !== undefined)
      assert.equal(await cluster.dismiss({ consumer: options.dismiss.consumer, seq: options.dismiss.seq }), 1);
    await cluster.close();
  } finally {
    await db.close();
  }
}

/** Rows of the committed Parquet files in the embedded Lake catalog (read beside the running server). */
async function lakeRows(dataDir: string): Promise<number> {
  const catalog = await openSqliteLakeCatalog(join(dataDir, "lake", "lake.db"));
  try {
    return (await catalog.allFiles()).reduce((sum, file) => sum + file.rows, 0);
  } finally {
    await catalog.close();
  }
}

/**
 * The cluster's Lake catalog holds the embedded one: the store, each file under its key in the lake
 * bucket (whose bytes are the local file's), every de-duplication key and the writer's cursor.
 */
async function checkMigratedLake(dataDir: string, engines: ClusterEngines, s3: S3Client): Promise<void> {
  const lakeDir = join(dataDir, "lake");
  const source = await openSqliteLakeCatalog(join(lakeDir, "lake.db"));
  const db = openPostgresDatabase({ url: engines.database.url });
  try {
    const target = await openPostgresLakeCatalog(db);
    const [store] = await source.stores();
    assert.deepEqual(await target.stores(), [store]);
    const files = await source.allFiles();
    assert.ok(files.length > 0);
    const keys = files.map((file) => file.path.slice(lakeDir.length + 1));
    assert.deepEqual(
      (await target.allFiles()).map((file) => file.path),
      [...keys].sort(),
    );
    for (const [i, key] of keys.entries()) {
      const object = await s3.send(new GetObjectCommand({ Bucket: "cairn-lake", Key: key }));
      assert.deepEqual(Buffer.from(await object.Body!.transformToByteArray()), readFileSync(files[i]!.path));
    }
    // Outside engines read through the partitions' Hive symlink manifests (decision 0015).
    const partition = keys[0]!.slice(0, keys[0]!.lastIndexOf("/"));
    const [edsId, eventDate] = partition.split("/");
    const manifest = await s3.send(
      new GetObjectCommand({ Bucket: "cairn-lake", Key: `${edsId}/_symlink_format_manifest/${eventDate}/manifest` }),
    );
    assert.deepEqual(
      (await manifest.Body!.transformToString()).split("\n").filter(Boolean),
      keys
        .filter((key) => key.startsWith(`${partition}/`))
        .sort()
        .map((key) => `s3://cairn-lake/${key}`),
    );
    const dedupKeys = readSqliteLakeKeys(join(lakeDir, "lake.db"), store!.id, Buffer.alloc(0), 1_000_000);
    assert.ok(dedupKeys.length > 0);
    assert.ok((await target.hasKeys(store!.id, dedupKeys)).every(Boolean), "every de-duplication key was copied");
    assert.equal(await target.cursor(), await source.cursor());
    await target.close();
  } finally {
    await source.close();
    await db.close();
  }
}
