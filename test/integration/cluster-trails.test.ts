import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CloudTrailClient,
  CreateTrailCommand,
  StartLoggingCommand,
  StopLoggingCommand,
} from "@aws-sdk/client-cloudtrail";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { awsCliMissingReason, runAws } from "../helpers/aws-cli.js";
import { pollUntil } from "../helpers/poll.js";
import { motoClient } from "../helpers/cluster-nodes.js";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import {
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { deliveredOnS3, deliveringOn, digestCountOnS3, ingestLoad } from "../helpers/trail-delivery.js";

const missing = clusterEnginesMissingReason("cluster trail tests");

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const BUCKET = "cluster-trail-logs";
/** Generous: the lease TTL (15 s) plus delivery on a loaded machine; the checks poll, they are not timed. */
const TAKEOVER_WAIT = { timeoutMs: 90_000, intervalMs: 500 };

/** Every event of `ids` is in exactly one log file, and no event of the bucket is in two. */
async function deliveredOnce(
  s3: S3Client,
  ids: readonly string[],
  bucket = BUCKET,
): Promise<Map<string, number> | false> {
  const counts = await deliveredOnS3(s3, bucket);
  return ids.every((id) => counts.has(id)) && counts;
}

describe("cluster mode: trails delivered by the one node holding the lease", { skip: missing }, () => {
  let engines: ClusterEngines;
  let s3: S3Client;
  const dirs: string[] = [];

  before(async () => {
    engines = await startClusterEngines();
    s3 = motoClient(engines);
  });
  after(async () => {
    s3?.destroy();
    await engines?.stop();
    dirs.forEach(removeDataDir);
  });

  const startNode = (nodeId: string) => {
    const dir = makeDataDir("cairn-cluster-trails-");
    dirs.push(dir);
    return startServerProcess({
      dataDir: join(dir, "node"),
      env: engines.nodeEnv(nodeId, {
        CAIRN_S3_FORCE_PATH_STYLE: "true",
        CAIRN_DELIVERY_INTERVAL_SECONDS: "1",
        CAIRN_DIGEST_INTERVAL_SECONDS: "2",
      }),
    });
  };

  /** The real `aws cloudtrail validate-logs` through `node` finds the trail's digests and log files valid. */
  const assertValidates = async (node: ServerProcess, trailArn: string, startTime: string): Promise<void> => {
    const validation = await runAws(
      node.dataDir,
      [
        ...["cloudtrail", "validate-logs", "--trail-arn", trailArn, "--start-time", startTime],
        ...["--endpoint-url", node.url, "--region", "us-east-1"],
      ],
      { AWS_ENDPOINT_URL_S3: engines.moto.endpoint },
    );
    assert.equal(validation.code, 0, `the digest chain validates:\n${validation.stdout}\n${validation.stderr}`);
    assert.match(validation.stdout, /log files valid/);
  };

  it("delivers every event ingested through either node exactly once, and another node takes over after a kill -9", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const nodes: ServerProcess[] = [await startNode("node-a")];
    try {
      nodes.push(await startNode("node-b"));
      const [a, b] = nodes as [ServerProcess, ServerProcess];
      const ct = new CloudTrailClient({ endpoint: a.url, region: "us-east-1", credentials: admin, maxAttempts: 1 });
      const startTime = new Date(Date.now() - 60_000).toISOString();
      const created = await ct.send(
        new CreateTrailCommand({ Name: "cluster-trail", S3BucketName: BUCKET, EnableLogFileValidation: true }),
      );
      await ct.send(new StartLoggingCommand({ Name: "cluster-trail" }));
      // No embedded S3 endpoint in cluster mode: a missing bucket is refused, never made.
      await assert.rejects(
        ct.send(new CreateTrailCommand({ Name: "no-bucket", S3BucketName: "cluster-missing-bucket" })),
        {
          name: "S3BucketDoesNotExistException",
        },
      );
      ct.destroy();
      const consumer = `trail-delivery:${created.TrailARN!}`;

      // A trail made through node A reaches node B's manager by the store's notifications: either may hold it.
      const holders = await pollUntil(
        async () => {
          const running = await Promise.all(nodes.map(deliveringOn));
          const holding = nodes.filter((_, index) => running[index]!.includes(consumer));
          return holding.length > 0 && holding;
        },
        { ...TAKEOVER_WAIT, message: "a node to take the trail's lease" },
      );
      const ids = [...(await ingestLoad(a, 3, 20)), ...(await ingestLoad(b, 3, 20))];
      const first = await pollUntil(() => deliveredOnce(s3, ids), {
        ...TAKEOVER_WAIT,
        message: "the events ingested through both nodes on S3",
      });
      for (const [id, files] of first) assert.equal(files, 1, `event ${id} is in ${files} log files`);
      const running = await Promise.all(nodes.map(deliveringOn));
      assert.equal(running.filter((names) => names.includes(consumer)).length, 1, "exactly one node delivers");
      assert.equal(holders.length, 1, "exactly one node held the lease");

      const holder = holders[0]!;
      const survivor = holder === a ? b : a;
      await holder.kill9();
      nodes.splice(nodes.indexOf(holder), 1);
      ids.push(...(await ingestLoad(survivor, 3, 20)));
      await pollUntil(async () => (await deliveringOn(survivor)).includes(consumer), {
        ...TAKEOVER_WAIT,
        message: "the surviving node to take the trail over once the dead holder's lease lapsed",
      });
      const all = await pollUntil(() => deliveredOnce(s3, ids), {
        ...TAKEOVER_WAIT,
        message: "the events ingested after the kill on S3",
      });
      for (const [id, files] of all) assert.equal(files, 1, `event ${id} is in ${files} log files after the takeover`);

      if (awsCliMissingReason() === false) {
        // A digest written after every file above covers the whole chain, both holders' parts.
        const before = await digestCountOnS3(s3, BUCKET);
        await pollUntil(async () => (await digestCountOnS3(s3, BUCKET)) > before, {
          ...TAKEOVER_WAIT,
          message: "the surviving holder to write a digest",
        });
        await assertValidates(survivor, created.TrailARN!, startTime);
      }
    } finally {
      for (const node of nodes) await node.stop();
    }
  });
  it("drains a trail stopped while its holder was dead: another node delivers what was logged and closes the chain", async () => {
    const bucket = "cluster-drained-logs";
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const nodes: ServerProcess[] = [await startNode("drain-a"), await startNode("drain-b")];
    try {
      const startTime = new Date(Date.now() - 60_000).toISOString();
      const ct = (node: ServerProcess) =>
        new CloudTrailClient({ endpoint: node.url, region: "us-east-1", credentials: admin, maxAttempts: 1 });
      const setup = ct(nodes[0]!);
      const created = await setup.send(
        new CreateTrailCommand({ Name: "drained-trail", S3BucketName: bucket, EnableLogFileValidation: true }),
      );
      await setup.send(new StartLoggingCommand({ Name: "drained-trail" }));
      setup.destroy();
      const consumer = `trail-delivery:${created.TrailARN!}`;
      const holder = await pollUntil(
        async () => {
          const running = await Promise.all(nodes.map(deliveringOn));
          return nodes.find((_, index) => running[index]!.includes(consumer));
        },
        { ...TAKEOVER_WAIT, message: "a node to take the trail's lease" },
      );
      const survivor = nodes.find((node) => node !== holder)!;
      const ids = await ingestLoad(holder, 2, 20);
      await holder.kill9();
      nodes.splice(nodes.indexOf(holder), 1);

      // The dead holder's lease still runs: the survivor stops the trail before anyone could drain it.
      const stopping = ct(survivor);
      await stopping.send(new StopLoggingCommand({ Name: "drained-trail" }));
      stopping.destroy();
      const digestsBeforeDrain = await digestCountOnS3(s3, bucket);
      const delivered = await pollUntil(() => deliveredOnce(s3, ids, bucket), {
        ...TAKEOVER_WAIT,
        message: "the survivor to drain what the dead holder had not delivered",
      });
      for (const [id, files] of delivered) assert.equal(files, 1, `event ${id} is in ${files} log files`);
      await pollUntil(async () => (await digestCountOnS3(s3, bucket)) > digestsBeforeDrain, {
        ...TAKEOVER_WAIT,
        message: "the drain's final digest",
      });
      if (awsCliMissingReason() === false) await assertValidates(survivor, created.TrailARN!, startTime);
    } finally {
      for (const node of nodes) await node.stop();
    }
  });
});
