import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { startServer, type RunningServer } from "../../src/app/server.js";
import { loadServerSettings } from "../../src/config/settings.js";
import type { Clock } from "../../src/lib/clock.js";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import { openPostgresTrailStore } from "../../src/stores/trails/index.js";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import { motoClient } from "../helpers/cluster-nodes.js";
import { pollUntil } from "../helpers/poll.js";
import { recentRecords } from "../helpers/sample-records.js";
import {
  makeDataDir,
  removeDataDir,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
} from "../helpers/server-process.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { deliveredOnS3 } from "../helpers/trail-delivery.js";

const missing = clusterEnginesMissingReason("cluster journal retention tests");

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const BUCKET = "cluster-retention-logs";
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** A node's clock: real time plus an offset the test moves (the journal's retention and trail delivery read it). */
class OffsetClock implements Clock {
  constructor(public offsetMs: number) {}
  nowMs(): number {
    return Date.now() + this.offsetMs;
  }
}

interface JournalView {
  readonly headSeq: number;
  readonly firstSeq: number;
  readonly retentionFloorSeq: number | null;
}

async function journalOf(node: RunningServer): Promise<JournalView> {
  const body = (await (await fetch(`${node.url}/health`)).json()) as { journal: JournalView };
  return body.journal;
}

/**
 * Two cluster nodes in this process on real PostgreSQL, nats-server and moto. Node B holds a trail's
 * lease and delivers it; node A runs the journal retention. A's clock is two days ahead, so with one
 * day of retention every entry is old enough for A: only the floor decides what A deletes. B delivers
 * a file once its oldest record waited the delivery interval (one hour) on B's clock, which the test
 * moves when B should deliver.
 */
describe(
  "cluster mode: journal retention on one node keeps what another node's trail has not delivered",
  {
    skip: missing,
  },
  () => {
    let engines: ClusterEngines;
    let s3: S3Client;
    let db: PostgresDatabase;
    const nodes: RunningServer[] = [];
    const dirs: string[] = [];

    before(async () => {
      engines = await startClusterEngines();
      s3 = motoClient(engines);
      db = openPostgresDatabase({ url: engines.database.url });
    });
    after(async () => {
      for (const node of nodes.reverse()) await node.close();
      await db?.close();
      s3?.destroy();
      await engines?.stop();
      dirs.forEach(removeDataDir);
    });

    async function startNode(nodeId: string, clock: Clock): Promise<RunningServer> {
      const dir = makeDataDir(`cairn-retention-${nodeId}-`);
      dirs.push(dir);
      const env = engines.nodeEnv(nodeId, {
        CAIRN_HOST: "127.0.0.1",
        CAIRN_ACCOUNT_ID: TEST_ACCOUNT_ID,
        CAIRN_REGION: "us-east-1",
        CAIRN_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
        CAIRN_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
        CAIRN_S3_FORCE_PATH_STYLE: "true",
        CAIRN_JOURNAL_RETENTION_DAYS: "1",
        CAIRN_DELIVERY_INTERVAL_SECONDS: "3600",
        CAIRN_DIGEST_INTERVAL_SECONDS: "86400",
        CAIRN_LAKE_FLUSH_INTERVAL_MS: "100",
      });
      const settings = loadServerSettings({ port: "0", dataDir: join(dir, "node") }, env);
      const node = await startServer(settings, clock, () => undefined);
      nodes.push(node);
      return node;
    }

    /** The journal seq up to which Event history and the Lake writer made everything durable, as PostgreSQL holds it. */
    async function indexedAndStoredUpTo(): Promise<number> {
      const [history] = await db.query<{ seq: string }>("SELECT seq FROM cairn_event_history_cursor");
      const [lake] = await db.query<{ value: string }>("SELECT value FROM cairn_lake_state WHERE key = 'cursor'");
      return Math.min(Number(history?.seq ?? 0), Number(lake?.value ?? 0));
    }

    it("A purges nothing B's trail still needs, and purges it once B delivered it", async () => {
      const clockB = new OffsetClock(0);
      const nodeB = await startNode("node-b", clockB);
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      const ct = new CloudTrailClient({ endpoint: nodeB.url, region: "us-east-1", credentials: admin, maxAttempts: 1 });
      let trailArn: string;
      try {
        trailArn = (await ct.send(new CreateTrailCommand({ Name: "held", S3BucketName: BUCKET }))).TrailARN!;
        await ct.send(new StartLoggingCommand({ Name: "held" }));
      } finally {
        ct.destroy();
      }
      const lease = `trail-delivery:${trailArn}`;
      await pollUntil(() => nodeB.registry.leasesHeld().includes(lease), { message: "node B to take the trail" });
      const nodeA = await startNode("node-a", new OffsetClock(2 * DAY_MS));
      assert.ok(!nodeA.registry.leasesHeld().includes(lease), "node A does not deliver the trail");
      assert.deepEqual(
        nodeA.registry.consumers().filter((consumer) => consumer.name === lease),
        [],
        "node A runs no consumer for the trail: its own floor cannot see it",
      );

      const records = recentRecords(5, { accountId: TEST_ACCOUNT_ID });
      const ingested = await sendRaw(nodeB.url, ingestCall(records, admin, { gzip: true }));
      assert.equal(ingested.status, 200, ingested.text);
      const { headSeq } = await journalOf(nodeB);
      const trails = await openPostgresTrailStore(db);
      const startSeq = (await trails.get(TEST_ACCOUNT_ID, "held"))!.deliverFromSeq!;
      await trails.close();
      assert.ok(startSeq > 1 && startSeq < headSeq, "entries before the trail's start and after it");
      await pollUntil(async () => (await indexedAndStoredUpTo()) >= headSeq, {
        timeoutMs: 30_000,
        message: "Event history and the Lake writer to make the ingested events durable",
      });

      // Node A's own view of its consumers (the shared cursors it refreshes) passes the events too:
      // a floor from this node's consumers alone would delete every one of them.
      await pollUntil(() => nodeA.registry.retentionFloor() > headSeq, {
        timeoutMs: 30_000,
        message: "node A's own consumers to pass the ingested events",
      });
      await nodeA.registry.applyJournalRetention();
      const kept = await journalOf(nodeA);
      assert.equal(kept.firstSeq, startSeq, "A deleted up to the trail's start, nothing the trail still needs");
      assert.equal(kept.retentionFloorSeq, startSeq, "A's /health shows the cluster-wide floor");
      assert.equal((await deliveredOnS3(s3, BUCKET)).size, 0, "B has delivered nothing yet");

      // The records' delivery interval passes on B's clock: B delivers them at its next tick.
      clockB.offsetMs = 2 * HOUR_MS;
      await pollUntil(
        async () => {
          const delivered = await deliveredOnS3(s3, BUCKET);
          return records.every((record) => delivered.has(record["eventID"] as string));
        },
        { timeoutMs: 30_000, intervalMs: 200, message: "node B to deliver the ingested events" },
      );
      const purged = await pollUntil(
        async () => {
          await nodeA.registry.applyJournalRetention();
          const view = await journalOf(nodeA);
          return view.firstSeq > headSeq && view;
        },
        { timeoutMs: 30_000, intervalMs: 200, message: "A's retention to purge what B delivered" },
      );
      assert.ok(purged.firstSeq > headSeq);
    });
  },
);
