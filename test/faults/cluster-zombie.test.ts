import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { awsCliMissingReason } from "../helpers/aws-cli.js";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import { assertCleanAnswers, assertExactlyOnce, ClusterLoad, settledCounts } from "../helpers/cluster-load.js";
import { ClusterNodes, motoClient, QUICK_DELIVERY } from "../helpers/cluster-nodes.js";
import { pollUntil } from "../helpers/poll.js";
import {
  createLoggingTrail,
  deliveredOnS3,
  deliveringOn,
  digestChainProblems,
  holdersOf,
  validateLogsAfterNextDigest,
} from "../helpers/trail-delivery.js";

const missing = clusterEnginesMissingReason("cluster zombie tests");
const BUCKET = "cluster-faults-zombie";

describe(
  "cluster mode: the trail's lease holder is frozen (SIGSTOP) until another node took the trail",
  { skip: missing },
  () => {
    let engines: ClusterEngines;
    let s3: S3Client;
    let cluster: ClusterNodes;

    before(async () => {
      engines = await startClusterEngines();
      s3 = motoClient(engines);
      cluster = new ClusterNodes(engines, QUICK_DELIVERY);
    });
    after(async () => {
      for (const node of cluster?.live ?? []) node.child.kill("SIGCONT");
      await cluster?.cleanup();
      s3?.destroy();
      await engines?.stop();
    });

    it("writes no log file or digest once it wakes: no event twice, one digest chain, validate-logs valid", async () => {
      const nodes = cluster.live;
      await cluster.startAll(["zombie-a", "zombie-b"]);
      const startTime = new Date(Date.now() - 60_000).toISOString();
      const { trailArn, consumer } = await createLoggingTrail(s3, nodes[0]!, { bucket: BUCKET, trail: "zombie-trail" });
      const [zombie] = await holdersOf(nodes, consumer);
      const successor = nodes.find((node) => node !== zombie)!;
      let frozen = false;

      const load = new ClusterLoad({
        // A frozen node accepts connections and never answers: a load balancer's health check takes it out.
        nodes: () => (frozen ? [successor] : nodes),
        marker: `ZombieLoad${randomBytes(4).toString("hex")}`,
        ingestClients: 4,
        batchSize: 10,
      });
      try {
        await load.acknowledgedAtLeast(400);
        // Frozen with records examined and waiting in memory, a delivery or digest possibly half done.
        zombie!.child.kill("SIGSTOP");
        frozen = true;
        await holdersOf([successor], consumer);
        const atTakeover = load.tally.acknowledged.size;
        await load.acknowledgedAtLeast(atTakeover + 400);
        zombie!.child.kill("SIGCONT");
        frozen = false;
        // Awake, its timers fire at once (delivery, digest, lease renewal): it must find its lease gone.
        await pollUntil(async () => (await deliveringOn(zombie!)).length === 0, {
          timeoutMs: 60_000,
          intervalMs: 200,
          message: "the woken node to give the trail up",
        });
        await load.acknowledgedAtLeast(load.tally.acknowledged.size + 200);
      } finally {
        zombie!.child.kill("SIGCONT");
        await load.stop();
        process.stdout.write(`# zombie load: ${load.summary()}\n`);
      }
      const { tally } = load;
      // Calls in flight to the node when it froze answer only once it wakes: late, but not a hang of a live node.
      assertCleanAnswers({ ...tally, hung: tally.hung.filter((call) => !call.includes(zombie!.url)) });
      assert.deepEqual(cluster.deaths, [], "no node died on its own");
      assert.deepEqual(await holdersOf(nodes, consumer), [successor], "the successor keeps the trail");

      const files = await settledCounts(() => deliveredOnS3(s3, BUCKET), tally);
      assertExactlyOnce("the trail's log files", files, tally);
      if (awsCliMissingReason() === false) {
        const validation = await validateLogsAfterNextDigest({
          s3,
          bucket: BUCKET,
          node: successor,
          trailArn,
          startTime,
          s3Endpoint: engines.moto.endpoint,
        });
        assert.equal(validation.code, 0, `the digest chain validates:\n${validation.stdout}\n${validation.stderr}`);
        assert.match(validation.stdout, /log files valid/);
      }
      assert.deepEqual(await digestChainProblems(s3, BUCKET), [], "one digest chain, no fork by the woken node");
    });
  },
);
