import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { awsCliMissingReason } from "../helpers/aws-cli.js";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import { assertCleanAnswers, assertExactlyOnce, ClusterLoad, lookupCounts } from "../helpers/cluster-load.js";
import { pollUntil } from "../helpers/poll.js";
import {
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { deliveredOnS3, deliveringOn, validateLogsAfterNextDigest } from "../helpers/trail-delivery.js";

const missing = clusterEnginesMissingReason("cluster kill -9 tests");
const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const BUCKET = "cluster-faults-kill";
/** The lease TTL (15 s) plus delivery and indexing on a loaded machine; the checks poll, they are not timed. */
const SETTLE = { timeoutMs: 120_000, intervalMs: 500 };

describe("cluster mode: three nodes under load, kill -9 of the trail's lease holder", { skip: missing }, () => {
  let engines: ClusterEngines;
  let s3: S3Client;
  const dirs: string[] = [];
  const nodes: ServerProcess[] = [];

  before(async () => {
    engines = await startClusterEngines();
    s3 = new S3Client({
      endpoint: engines.moto.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    });
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    s3?.destroy();
    await engines?.stop();
    dirs.forEach(removeDataDir);
  });

  const startNode = async (nodeId: string): Promise<ServerProcess> => {
    const dir = makeDataDir("cairn-cluster-kill-");
    dirs.push(dir);
    const node = await startServerProcess({
      dataDir: join(dir, "node"),
      env: engines.nodeEnv(nodeId, {
        CAIRN_S3_FORCE_PATH_STYLE: "true",
        CAIRN_DELIVERY_INTERVAL_SECONDS: "1",
        CAIRN_DIGEST_INTERVAL_SECONDS: "2",
      }),
    });
    nodes.push(node);
    return node;
  };

  /** The live nodes whose /health says they deliver `consumer`. */
  async function holdersOf(consumer: string): Promise<ServerProcess[]> {
    const delivering = await Promise.all(nodes.map(deliveringOn));
    return nodes.filter((_, i) => delivering[i]!.includes(consumer));
  }

  it("loses and doubles nothing acknowledged in Event history and the trail's files; the lease moves; the chain validates", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await Promise.all(["kill-a", "kill-b", "kill-c"].map(startNode));
    const ct = new CloudTrailClient({
      endpoint: nodes[0]!.url,
      region: "us-east-1",
      credentials: admin,
      maxAttempts: 1,
    });
    const startTime = new Date(Date.now() - 60_000).toISOString();
    const trail = await ct.send(
      new CreateTrailCommand({ Name: "kill-trail", S3BucketName: BUCKET, EnableLogFileValidation: true }),
    );
    await ct.send(new StartLoggingCommand({ Name: "kill-trail" }));
    ct.destroy();
    const consumer = `trail-delivery:${trail.TrailARN!}`;
    const [holder] = await pollUntil(async () => {
      const holding = await holdersOf(consumer);
      return holding.length > 0 && holding;
    }, SETTLE);

    const load = new ClusterLoad({
      nodes: () => nodes,
      marker: `KillLoad${randomBytes(4).toString("hex")}`,
      ingestClients: 6,
      batchSize: 10,
    });
    try {
      await load.acknowledgedAtLeast(600);
      await holder!.kill9();
      nodes.splice(nodes.indexOf(holder!), 1);
      const atKill = load.tally.acknowledged.size;
      // The load goes on through the survivors while the dead holder's lease lapses and one takes over.
      const successors = await pollUntil(async () => {
        const holding = await holdersOf(consumer);
        return holding.length > 0 && holding;
      }, SETTLE);
      assert.equal(successors.length, 1, "one survivor delivers the trail");
      await load.acknowledgedAtLeast(atKill + 600);
    } finally {
      await load.stop();
      process.stdout.write(`# kill -9 load: ${load.summary()}\n`);
    }
    const { tally } = load;
    assertCleanAnswers(tally);

    const survivor = nodes[0]!;
    const history = await pollUntil(async () => {
      const counts = await lookupCounts(survivor, load.options.marker);
      return [...tally.acknowledged].every((id) => counts.has(id)) && counts;
    }, SETTLE).catch(() => lookupCounts(survivor, load.options.marker));
    assertExactlyOnce("Event history", history, tally, { onlyLoad: true });

    const files = await pollUntil(async () => {
      const counts = await deliveredOnS3(s3, BUCKET);
      return [...tally.acknowledged].every((id) => counts.has(id)) && counts;
    }, SETTLE).catch(() => deliveredOnS3(s3, BUCKET));
    assertExactlyOnce("the trail's log files", files, tally);
    assert.equal((await holdersOf(consumer)).length, 1, "still exactly one node delivers");

    if (awsCliMissingReason() === false) {
      const validation = await validateLogsAfterNextDigest({
        s3,
        bucket: BUCKET,
        node: survivor,
        trailArn: trail.TrailARN!,
        startTime,
        s3Endpoint: engines.moto.endpoint,
      });
      assert.equal(validation.code, 0, `the digest chain validates:\n${validation.stdout}\n${validation.stderr}`);
      assert.match(validation.stdout, /log files valid/);
    }
  });
});
