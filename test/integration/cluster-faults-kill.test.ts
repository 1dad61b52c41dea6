import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { awsCliMissingReason } from "../helpers/aws-cli.js";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import {
  assertCleanAnswers,
  assertExactlyOnce,
  ClusterLoad,
  lookupCounts,
  settledCounts,
} from "../helpers/cluster-load.js";
import { ClusterNodes, motoClient, QUICK_DELIVERY } from "../helpers/cluster-nodes.js";
import {
  createLoggingTrail,
  deliveredOnS3,
  digestChainProblems,
  holdersOf,
  validateLogsAfterNextDigest,
} from "../helpers/trail-delivery.js";

const missing = clusterEnginesMissingReason("cluster kill -9 tests");
const BUCKET = "cluster-faults-kill";

describe("cluster mode: three nodes under load, kill -9 of the trail's lease holder", { skip: missing }, () => {
  let engines: ClusterEngines;
  let s3: S3Client;
  let cluster: ClusterNodes;

  before(async () => {
    engines = await startClusterEngines();
    s3 = motoClient(engines);
    cluster = new ClusterNodes(engines, QUICK_DELIVERY);
  });
  after(async () => {
    await cluster?.cleanup();
    s3?.destroy();
    await engines?.stop();
  });

  it("loses and doubles nothing acknowledged in Event history and the trail's files; the lease moves; the chain validates", async () => {
    const nodes = cluster.live;
    await cluster.startAll(["kill-a", "kill-b", "kill-c"]);
    const startTime = new Date(Date.now() - 60_000).toISOString();
    const { trailArn, consumer } = await createLoggingTrail(s3, nodes[0]!, { bucket: BUCKET, trail: "kill-trail" });
    const [holder] = await holdersOf(nodes, consumer);

    const load = new ClusterLoad({
      nodes: () => nodes,
      marker: `KillLoad${randomBytes(4).toString("hex")}`,
      ingestClients: 6,
      batchSize: 10,
      // The load runs through the whole takeover (the 15 s TTL): paced, so the checks after read thousands, not tens of thousands.
      pauseMs: 100,
    });
    try {
      await load.acknowledgedAtLeast(600);
      await cluster.kill9(holder!);
      const atKill = load.tally.acknowledged.size;
      // The load goes on through the survivors while the dead holder's lease lapses and one takes over.
      const successors = await holdersOf(nodes, consumer);
      assert.equal(successors.length, 1, "one survivor delivers the trail");
      await load.acknowledgedAtLeast(atKill + 600);
    } finally {
      await load.stop();
      process.stdout.write(`# kill -9 load: ${load.summary()}\n`);
    }
    const { tally } = load;
    assertCleanAnswers(tally);
    assert.deepEqual(cluster.deaths, [], "no node died on its own");

    const survivor = nodes[0]!;
    const history = await settledCounts(() => lookupCounts(survivor, load.options.marker), tally);
    assertExactlyOnce("Event history", history, tally, { onlyLoad: true });
    const files = await settledCounts(() => deliveredOnS3(s3, BUCKET), tally);
    assertExactlyOnce("the trail's log files", files, tally);
    assert.equal((await holdersOf(nodes, consumer)).length, 1, "still exactly one node delivers");

    if (awsCliMissingReason() === false) {
      const validation = await validateLogsAfterNextDigest({
        s3,
        bucket: BUCKET,
        node: survivor,
        trailArn,
        startTime,
        s3Endpoint: engines.moto.endpoint,
      });
      assert.equal(validation.code, 0, `the digest chain validates:\n${validation.stdout}\n${validation.stderr}`);
      assert.match(validation.stdout, /log files valid/);
    }
    assert.deepEqual(await digestChainProblems(s3, BUCKET), [], "one digest chain, no fork");
  });
});
