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
  ingestsAndFindsAgain,
  settledCounts,
} from "../helpers/cluster-load.js";
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

const missing = clusterEnginesMissingReason("cluster PostgreSQL outage tests");
const BUCKET = "cluster-faults-postgres-outage";

describe(
  "cluster mode: PostgreSQL is down for longer than the trail lease's TTL, under load",
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
      await cluster?.cleanup();
      s3?.destroy();
      await engines?.stop();
    });

    it("lets the holder's lease lapse, then one node takes the trail again: nothing acknowledged lost or doubled, one digest chain", async () => {
      const nodes = cluster.live;
      await cluster.startAll(["outage-a", "outage-b"]);
      const pids = nodes.map((node) => node.child.pid);
      const startTime = new Date(Date.now() - 60_000).toISOString();
      const { trailArn, consumer } = await createLoggingTrail(s3, nodes[0]!, { bucket: BUCKET, trail: "outage-trail" });
      const [holder] = await holdersOf(nodes, consumer);

      const load = new ClusterLoad({
        nodes: () => nodes,
        marker: `OutageLoad${randomBytes(4).toString("hex")}`,
        ingestClients: 4,
        batchSize: 10,
        lookupClients: 1,
      });
      try {
        await load.acknowledgedAtLeast(300);
        await engines.postgres.restart({
          // Down until the holder could not renew its lease for a whole TTL and gave the trail up.
          whileDown: async () => {
            await pollUntil(async () => (await deliveringOn(holder!)).length === 0, {
              timeoutMs: 90_000,
              intervalMs: 250,
              message: () => `the holder to give the trail up while PostgreSQL is down: ${load.summary()}`,
            });
          },
        });
        const [acknowledged, lookups] = [load.tally.acknowledged.size, load.tally.lookups];
        await pollUntil(() => load.tally.acknowledged.size >= acknowledged + 300 && load.tally.lookups > lookups + 4, {
          timeoutMs: 120_000,
          intervalMs: 100,
          message: () => `ingests and lookups to succeed again after the restart: ${load.summary()}`,
        });
      } finally {
        await load.stop();
        process.stdout.write(`# PostgreSQL outage load: ${load.summary()}\n`);
      }
      const { tally } = load;
      assertCleanAnswers(tally);
      assert.deepEqual(cluster.deaths, [], "no node died on its own");

      for (const node of nodes) await ingestsAndFindsAgain(node);
      assert.deepEqual(
        nodes.map((node) => node.child.pid),
        pids,
        "the same processes serve: no node was restarted",
      );
      assert.ok(
        nodes.every((node) => node.child.exitCode === null),
        "every node still runs",
      );

      const history = await settledCounts(() => lookupCounts(nodes[1]!, load.options.marker), tally);
      assertExactlyOnce("Event history", history, tally, { onlyLoad: true });
      const files = await settledCounts(() => deliveredOnS3(s3, BUCKET), tally);
      assertExactlyOnce("the trail's log files", files, tally);
      assert.equal((await holdersOf(nodes, consumer)).length, 1, "exactly one node delivers the trail");

      if (awsCliMissingReason() === false) {
        const validation = await validateLogsAfterNextDigest({
          s3,
          bucket: BUCKET,
          node: nodes[0]!,
          trailArn,
          startTime,
          s3Endpoint: engines.moto.endpoint,
        });
        assert.equal(validation.code, 0, `the digest chain validates:\n${validation.stdout}\n${validation.stderr}`);
        assert.match(validation.stdout, /log files valid/);
      }
      assert.deepEqual(await digestChainProblems(s3, BUCKET), [], "one digest chain across the outage");
    });
  },
);
