import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
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
import { createLoggingTrail, deliveredOnS3, holdersOf } from "./trail-delivery.js";

const STREAM = "cairn-faults-r3";
const BUCKET = "cluster-faults-jetstream";

/** The server name of the stream's leader, as any reachable server of the cluster says; undefined while none is elected. */
async function streamLeader(urls: readonly string[]): Promise<string | undefined> {
  const nc = await connect({ servers: [...urls], reconnect: false, timeout: 2_000 });
  try {
    const info = await (await jetstreamManager(nc, { timeout: 2_000 })).streams.info(STREAM);
    return info.cluster?.leader;
  } catch {
    return undefined;
  } finally {
    await nc.close();
  }
}

/**
 * The JetStream leader case of the cluster fault tests: two nodes on a 3-server NATS cluster with an
 * R3 journal stream; the stream's leader is ended with `signal` (SIGTERM: stopped, SIGKILL: killed)
 * under ingest load.
 */
export function describeLeaderLoss(signal: "SIGTERM" | "SIGKILL"): void {
  const missing = clusterEnginesMissingReason("cluster JetStream failover tests");
  const how = signal === "SIGKILL" ? "is killed (kill -9)" : "stops";
  describe(`cluster mode: the JetStream leader of an R3 journal ${how} under load`, { skip: missing }, () => {
    let engines: ClusterEngines;
    let s3: S3Client;
    let cluster: ClusterNodes;

    before(async () => {
      engines = await startClusterEngines({ natsNodes: 3 });
      s3 = motoClient(engines);
      cluster = new ClusterNodes(engines, {
        ...QUICK_DELIVERY,
        CAIRN_JOURNAL_REPLICAS: "3",
        CAIRN_JOURNAL_STREAM: STREAM,
      });
    });
    after(async () => {
      await cluster?.cleanup();
      s3?.destroy();
      await engines?.stop();
    });

    it("keeps every acknowledged event once, answers only clear 503s meanwhile, and takes new ingests after", async () => {
      const nodes = cluster.live;
      await cluster.startAll(["js-a", "js-b"]);
      const { consumer } = await createLoggingTrail(s3, nodes[0]!, { bucket: BUCKET, trail: "js-trail" });
      await holdersOf(nodes, consumer);
      const leader = await pollUntil(() => streamLeader(engines.nats.urls), { message: "the stream's leader" });

      const load = new ClusterLoad({
        nodes: () => nodes,
        marker: `JsLoad${randomBytes(4).toString("hex")}`,
        ingestClients: 4,
        batchSize: 10,
      });
      let successor: string;
      try {
        await load.acknowledgedAtLeast(400);
        await engines.nats.kill(leader, signal);
        const atStop = load.tally.acknowledged.size;
        const survivors = engines.nats.urls.filter((_, i) => engines.nats.names[i] !== leader);
        successor = await pollUntil(
          async () => {
            const now = await streamLeader(survivors);
            return now !== undefined && now !== leader && now;
          },
          { timeoutMs: 60_000, intervalMs: 200, message: "another server to lead the stream" },
        );
        await load.acknowledgedAtLeast(atStop + 400);
      } finally {
        await load.stop();
        process.stdout.write(`# JetStream leader ${signal} load: ${load.summary()}\n`);
      }
      process.stdout.write(`# stream leader ${leader} ended by ${signal}; ${successor} leads now\n`);
      const { tally } = load;
      assertCleanAnswers(tally);
      assert.deepEqual(cluster.deaths, [], "no node died on its own");
      for (const node of nodes) await ingestsAndFindsAgain(node);

      const history = await settledCounts(() => lookupCounts(nodes[1]!, load.options.marker), tally);
      assertExactlyOnce("Event history", history, tally, { onlyLoad: true });
      const files = await settledCounts(() => deliveredOnS3(s3, BUCKET), tally);
      assertExactlyOnce("the trail's log files", files, tally);
      assert.equal((await holdersOf(nodes, consumer)).length, 1, "exactly one node delivers the trail");
    });
  });
}
