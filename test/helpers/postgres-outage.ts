import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { awsCliMissingReason } from "./aws-cli.js";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "./cluster-engines.js";
import {
  assertCleanAnswers,
  assertExactlyOnce,
  ClusterLoad,
  ingestsAndFindsAgain,
  lookupCounts,
  settledCounts,
} from "./cluster-load.js";
import { ClusterNodes, motoClient, QUICK_DELIVERY } from "./cluster-nodes.js";
import { pollUntil } from "./poll.js";
import type { ServerProcess } from "./server-process.js";
import {
  createLoggingTrail,
  deliveredOnS3,
  digestChainProblems,
  holdersOf,
  validateLogsAfterNextDigest,
} from "./trail-delivery.js";

/** One PostgreSQL outage case: how long the database stays down, said by what the test waits for. */
export interface PostgresOutage {
  /** The suite's and the case's titles. */
  readonly suite: string;
  readonly title: string;
  /** Names the bucket, the trail, the nodes and the load's marker apart from other cases. */
  readonly name: string;
  readonly lookupClients: number;
  /** Resolves when the outage has lasted long enough (observed, never timed). */
  readonly whileDown: (load: ClusterLoad, holder: ServerProcess) => Promise<unknown>;
}

/**
 * The PostgreSQL cases of the cluster fault tests: two nodes delivering one trail under ingest and
 * lookup load while PostgreSQL stops and starts again. During the outage every answer is a clear
 * 503; afterwards the same processes serve, and every acknowledged event is in Event history and in
 * the trail's log files exactly once, in one digest chain that the real `validate-logs` accepts.
 */
export function describePostgresOutage(outage: PostgresOutage): void {
  const missing = clusterEnginesMissingReason(`cluster PostgreSQL tests (${outage.name})`);
  const bucket = `cluster-faults-${outage.name}`;
  describe(outage.suite, { skip: missing }, () => {
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

    it(outage.title, async () => {
      const nodes = cluster.live;
      await cluster.startAll([`${outage.name}-a`, `${outage.name}-b`]);
      const pids = nodes.map((node) => node.child.pid);
      const startTime = new Date(Date.now() - 60_000).toISOString();
      const { trailArn, consumer } = await createLoggingTrail(s3, nodes[0]!, { bucket, trail: `${outage.name}-trail` });
      const [holder] = await holdersOf(nodes, consumer);
      const load = new ClusterLoad({
        nodes: () => nodes,
        marker: `Load${randomBytes(4).toString("hex")}`,
        ingestClients: 4,
        batchSize: 10,
        lookupClients: outage.lookupClients,
      });
      try {
        await load.acknowledgedAtLeast(300);
        await engines.postgres.restart({ whileDown: async () => void (await outage.whileDown(load, holder!)) });
        const [acknowledged, lookups] = [load.tally.acknowledged.size, load.tally.lookups];
        await pollUntil(() => load.tally.acknowledged.size >= acknowledged + 300 && load.tally.lookups > lookups + 4, {
          timeoutMs: 120_000,
          intervalMs: 100,
          message: () => `ingests and lookups to succeed again after the restart: ${load.summary()}`,
        });
      } finally {
        await load.stop();
        process.stdout.write(`# PostgreSQL ${outage.name} load: ${load.summary()}\n`);
      }
      assertCleanAnswers(load.tally);
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

      const history = await settledCounts(() => lookupCounts(nodes[1]!, load.options.marker), load.tally);
      assertExactlyOnce("Event history", history, load.tally, { onlyLoad: true });
      const files = await settledCounts(() => deliveredOnS3(s3, bucket), load.tally);
      assertExactlyOnce("the trail's log files", files, load.tally);
      assert.equal((await holdersOf(nodes, consumer)).length, 1, "exactly one node delivers the trail");
      if (awsCliMissingReason() === false) {
        const validation = await validateLogsAfterNextDigest({
          ...{ s3, bucket, node: nodes[0]!, trailArn, startTime },
          s3Endpoint: engines.moto.endpoint,
        });
        assert.equal(validation.code, 0, `the digest chain validates:\n${validation.stdout}\n${validation.stderr}`);
        assert.match(validation.stdout, /log files valid/);
      }
      assert.deepEqual(await digestChainProblems(s3, bucket), [], "one digest chain across the outage");
    });
  });
}
