import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CloudTrailClient,
  CreateTrailCommand,
  DeleteTrailCommand,
  DescribeTrailsCommand,
  GetTrailCommand,
  ListTrailsCommand,
  StartLoggingCommand,
} from "@aws-sdk/client-cloudtrail";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import { awsCliMissingReason, runAws } from "../helpers/aws-cli.js";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import { ClusterNodes, motoClient, QUICK_DELIVERY } from "../helpers/cluster-nodes.js";
import { pollUntil } from "../helpers/poll.js";
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, type ServerProcess } from "../helpers/server-process.js";
import {
  createLoggingTrail,
  deliveredOnS3,
  digestChainProblems,
  deliveringOn,
  digestCountOnS3,
  holdersOf,
  ingestLoad,
} from "../helpers/trail-delivery.js";

const missing = clusterEnginesMissingReason("cluster DeleteTrail tests");
const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const LIVE_BUCKET = "cluster-deleted-live";
const OLD_BUCKET = "cluster-deleted-trail";
const NEW_BUCKET = "cluster-recreated-trail";
const TRAIL = "doomed-trail";
/** The lease TTL (15 s) plus delivery on a loaded machine; the checks poll, they are not timed. */
const WAIT = { timeoutMs: 90_000, intervalMs: 500 };

describe("cluster mode: DeleteTrail of a logging trail, its holder alive or dead", { skip: missing }, () => {
  let engines: ClusterEngines;
  let s3: S3Client;
  let cluster: ClusterNodes;
  let db: PostgresDatabase;

  before(async () => {
    engines = await startClusterEngines();
    s3 = motoClient(engines);
    cluster = new ClusterNodes(engines, QUICK_DELIVERY);
    db = openPostgresDatabase({ url: engines.database.url });
  });
  after(async () => {
    await cluster?.cleanup();
    await db?.close();
    s3?.destroy();
    await engines?.stop();
  });

  it("DeleteTrail through the node that does not hold the trail: the live holder delivers its last events and final digest", async () => {
    const nodes = await cluster.startAll(["delete-a", "delete-b"]);
    const { consumer } = await createLoggingTrail(s3, nodes[0]!, { bucket: LIVE_BUCKET, trail: "live-trail" });
    const [holder] = await holdersOf(nodes, consumer);
    const other = nodes.find((node) => node !== holder)!;
    const logged = await ingestLoad(holder!, 2, 20);
    const ct = cloudTrail(other);
    try {
      await ct.send(new DeleteTrailCommand({ Name: "live-trail" }));
      await assertGone(ct, "live-trail");
      await pollUntil(async () => (await pendingDeletions(db)) === 0, { ...WAIT, message: "the holder's drain" });
      const counts = await deliveredOnS3(s3, LIVE_BUCKET);
      for (const id of logged) assert.equal(counts.get(id), 1, `event ${id} is in ${counts.get(id) ?? 0} log files`);
      assert.ok((await digestCountOnS3(s3, LIVE_BUCKET)) > 0, "the final digest");
      assert.deepEqual(await digestChainProblems(s3, LIVE_BUCKET), []);
      assert.deepEqual(await Promise.all(nodes.map(deliveringOn)), [[], []], "no node delivers it any more");
    } finally {
      ct.destroy();
    }
  });

  it("delivers what the trail logged once, with a final digest that validates; a new trail of its name starts afresh", async () => {
    const nodes = cluster.live;
    const startTime = new Date(Date.now() - 60_000).toISOString();
    const { trailArn, consumer } = await createLoggingTrail(s3, nodes[0]!, { bucket: OLD_BUCKET, trail: TRAIL });
    const [holder] = await holdersOf(nodes, consumer);
    const survivor = nodes.find((node) => node !== holder)!;
    const logged = await ingestLoad(holder!, 2, 20);
    await cluster.kill9(holder!);

    // The dead holder's lease still runs: nobody can drain the trail when it is deleted.
    const ct = cloudTrail(survivor);
    try {
      await ct.send(new DeleteTrailCommand({ Name: TRAIL }));
      await assertGone(ct, TRAIL);
      const afterDelete = await ingestLoad(survivor, 1, 10);
      await s3.send(new CreateBucketCommand({ Bucket: NEW_BUCKET }));
      // At once, while the deleted trail still waits for its drain.
      const recreated = await ct.send(
        new CreateTrailCommand({ Name: TRAIL, S3BucketName: NEW_BUCKET, EnableLogFileValidation: true }),
      );
      assert.equal(recreated.TrailARN, trailArn, "a trail's ARN is its name's");
      await ct.send(new StartLoggingCommand({ Name: TRAIL }));
      const newlyLogged = await ingestLoad(survivor, 1, 10);

      await pollUntil(async () => (await pendingDeletions(db)) === 0, {
        ...WAIT,
        message: "the survivor to drain the deleted trail once the dead holder's lease lapsed",
      });
      const old = await deliveredOnS3(s3, OLD_BUCKET);
      for (const id of logged) assert.equal(old.get(id), 1, `event ${id} is in ${old.get(id) ?? 0} log files`);
      for (const id of [...afterDelete, ...newlyLogged]) assert.ok(!old.has(id), `${id} came after DeleteTrail`);
      assert.ok((await digestCountOnS3(s3, OLD_BUCKET)) > 0, "the final digest");
      assert.deepEqual(await digestChainProblems(s3, OLD_BUCKET), []);
      if (awsCliMissingReason() === false) await assertValidates(survivor, trailArn, startTime);

      const fresh = await pollUntil(
        async () => {
          const counts = await deliveredOnS3(s3, NEW_BUCKET);
          return newlyLogged.every((id) => counts.has(id)) && counts;
        },
        { ...WAIT, message: "the new trail of the name to deliver" },
      );
      for (const id of newlyLogged) assert.equal(fresh.get(id), 1, `event ${id} is in ${fresh.get(id) ?? 0} files`);
      for (const id of [...logged, ...afterDelete]) assert.ok(!fresh.has(id), `${id} is the deleted trail's`);
      // A digest chained to the deleted trail's would name a previous digest this bucket does not hold.
      await pollUntil(async () => (await digestCountOnS3(s3, NEW_BUCKET)) > 0, {
        ...WAIT,
        message: "the new trail's first digest",
      });
      assert.deepEqual(await digestChainProblems(s3, NEW_BUCKET), []);
      assert.deepEqual(cluster.deaths, []);
    } finally {
      ct.destroy();
    }
  });

  const cloudTrail = (node: ServerProcess) =>
    new CloudTrailClient({ endpoint: node.url, region: "us-east-1", credentials: admin, maxAttempts: 1 });

  /** The real `aws cloudtrail validate-logs` over the deleted trail's bucket (named: no trail describes it now). */
  const assertValidates = async (node: ServerProcess, trailArn: string, startTime: string): Promise<void> => {
    const validation = await runAws(
      node.dataDir,
      [
        ...["cloudtrail", "validate-logs", "--trail-arn", trailArn, "--start-time", startTime],
        ...["--s3-bucket", OLD_BUCKET, "--endpoint-url", node.url, "--region", "us-east-1"],
      ],
      { AWS_ENDPOINT_URL_S3: engines.moto.endpoint },
    );
    assert.equal(validation.code, 0, `the digest chain validates:\n${validation.stdout}\n${validation.stderr}`);
    assert.match(validation.stdout, /([1-9]\d*)\/\1 digest files valid/);
    assert.match(validation.stdout, /([1-9]\d*)\/\1 log files valid/);
  };
});

/** No API shows a deleted trail. */
async function assertGone(ct: CloudTrailClient, name: string): Promise<void> {
  await assert.rejects(ct.send(new GetTrailCommand({ Name: name })), { name: "TrailNotFoundException" });
  const described = await ct.send(new DescribeTrailsCommand({}));
  assert.ok(!(described.trailList ?? []).some((trail) => trail.Name === name), "DescribeTrails");
  const listed = await ct.send(new ListTrailsCommand({}));
  assert.ok(!(listed.Trails ?? []).some((trail) => trail.Name === name), "ListTrails");
}

/** Deleted trails no node has drained yet (read from PostgreSQL, as every node sees them). */
async function pendingDeletions(db: PostgresDatabase): Promise<number> {
  const [row] = await db.query<{ count: string }>("SELECT count(*) AS count FROM cairn_trail_deleted");
  return Number(row?.count);
}
