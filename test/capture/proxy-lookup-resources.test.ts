import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { awsCliMissingReason, runAws } from "../helpers/aws-cli.js";
import { TEST_ACCOUNT_ID, type ServerProcess } from "../helpers/server-process.js";
import { motoMissingReason } from "../storage/moto-server.js";
import { awsJsonViaProxy, recordsNamed, startProxyStack, type ProxyStack } from "./proxy-process.js";

/**
 * Issue #12 item 3: the AWS CLI → `cairn proxy` → moto_server, then the real CLI's
 * `cloudtrail lookup-events --lookup-attributes AttributeKey=ResourceName,…` against the Cairn
 * server finds each call by the id it created and by that resource's ARN, although the records of
 * EC2, RDS and ElastiCache carry no `resources` member (as CloudTrail's do not).
 */
const skip = awsCliMissingReason() || motoMissingReason();
const REGION = "us-east-1";

interface CliEvent {
  EventId: string;
  EventName: string;
  Resources?: Array<{ ResourceType?: string; ResourceName?: string }>;
  CloudTrailEvent: string;
}

describe(
  "LookupEvents ResourceName finds proxied EC2, RDS, ElastiCache, KMS and S3 calls by id and ARN",
  { skip },
  () => {
    let server: ServerProcess | undefined;
    let stack: ProxyStack | undefined;

    const viaProxy = (args: string[]): Promise<Record<string, unknown>> =>
      awsJsonViaProxy(stack!, args, { region: REGION });

    /** The real CLI's lookup-events against the Cairn server (the account's root, from the data dir's files). */
    const lookupByName = async (value: string): Promise<CliEvent[]> => {
      const result = await runAws(server!.dataDir, [
        "cloudtrail",
        "lookup-events",
        "--lookup-attributes",
        `AttributeKey=ResourceName,AttributeValue=${value}`,
        "--endpoint-url",
        server!.url,
        "--region",
        REGION,
        "--output",
        "json",
      ]);
      assert.equal(result.code, 0, result.stderr);
      return (JSON.parse(result.stdout) as { Events: CliEvent[] }).Events;
    };

    /** The call's record has no `resources`, and lookup-events finds it by `id` and by `arn`, listing `type` `id`. */
    const assertFound = async (
      eventSource: string,
      eventName: string,
      type: string,
      id: string,
      arn: string,
    ): Promise<void> => {
      const [record] = await recordsNamed(server!, eventSource, eventName);
      assert.ok(record, `${eventName} recorded`);
      assert.equal(Object.hasOwn(record, "resources"), false, `${eventName}: CloudTrail writes no resources`);
      for (const value of [id, arn]) {
        const events = await lookupByName(value);
        const event: CliEvent | undefined = events.find((e) => e.EventId === record["eventID"]);
        assert.ok(event, `lookup-events ResourceName=${value} finds ${eventName}: ${JSON.stringify(events)}`);
        assert.ok(
          (event.Resources ?? []).some((r) => r.ResourceType === type && r.ResourceName === id),
          `${eventName} lists ${type} ${id}: ${JSON.stringify(event.Resources)}`,
        );
        assert.equal(JSON.parse(event.CloudTrailEvent)["eventID"], record["eventID"]);
      }
    };

    before(async () => {
      stack = await startProxyStack();
      ({ server } = stack);
    });

    after(async () => {
      await stack?.stop();
    });

    it("EC2 RunInstances, CreateVolume, CreateSnapshot", async () => {
      const run = await viaProxy([
        "ec2",
        "run-instances",
        "--image-id",
        "ami-12c6146b",
        "--count",
        "1",
        "--instance-type",
        "t2.micro",
      ]);
      const instanceId = (run["Instances"] as Array<{ InstanceId: string }>)[0]!.InstanceId;
      const volume = await viaProxy(["ec2", "create-volume", "--size", "1", "--availability-zone", `${REGION}a`]);
      const volumeId = volume["VolumeId"] as string;
      const snapshot = await viaProxy(["ec2", "create-snapshot", "--volume-id", volumeId]);
      const snapshotId = snapshot["SnapshotId"] as string;
      const ec2Arn = (resource: string): string => `arn:aws:ec2:${REGION}:${TEST_ACCOUNT_ID}:${resource}`;

      await assertFound(
        "ec2.amazonaws.com",
        "RunInstances",
        "AWS::EC2::Instance",
        instanceId,
        ec2Arn(`instance/${instanceId}`),
      );
      await assertFound(
        "ec2.amazonaws.com",
        "CreateVolume",
        "AWS::EC2::Volume",
        volumeId,
        ec2Arn(`volume/${volumeId}`),
      );
      await assertFound(
        "ec2.amazonaws.com",
        "CreateSnapshot",
        "AWS::EC2::Snapshot",
        snapshotId,
        ec2Arn(`snapshot/${snapshotId}`),
      );
    });

    it("RDS CreateDBCluster", async () => {
      await viaProxy([
        "rds",
        "create-db-cluster",
        "--db-cluster-identifier",
        "lk-cluster",
        "--engine",
        "aurora-mysql",
        "--master-username",
        "admin",
        "--master-user-password",
        "not-a-real-secret-1",
      ]);
      await assertFound(
        "rds.amazonaws.com",
        "CreateDBCluster",
        "AWS::RDS::DBCluster",
        "lk-cluster",
        `arn:aws:rds:${REGION}:${TEST_ACCOUNT_ID}:cluster:lk-cluster`,
      );
    });

    it("KMS Encrypt by alias: the record names the key's ARN, found by ARN and by key id", async () => {
      const created = await viaProxy(["kms", "create-key"]);
      const { KeyId: keyId, Arn: keyArn } = created["KeyMetadata"] as { KeyId: string; Arn: string };
      await viaProxy(["kms", "create-alias", "--alias-name", "alias/lk", "--target-key-id", keyId]);
      await viaProxy(["kms", "encrypt", "--key-id", "alias/lk", "--plaintext", "aGVsbG8="]);
      const [record] = await recordsNamed(server!, "kms.amazonaws.com", "Encrypt");
      assert.ok(record);
      // As real Encrypt records (invictus-sigma-aws): the key, by ARN, though the call named an alias,
      // owned by the key's account (moto's own, here).
      assert.deepEqual(record["resources"], [{ accountId: keyArn.split(":")[4], type: "AWS::KMS::Key", ARN: keyArn }]);
      for (const value of [keyArn, keyId]) {
        const events = await lookupByName(value);
        const event = events.find((e) => e.EventId === record["eventID"]);
        assert.ok(event, `ResourceName=${value} finds Encrypt: ${JSON.stringify(events)}`);
        assert.ok((event.Resources ?? []).some((r) => r.ResourceType === "AWS::KMS::Key" && r.ResourceName === keyArn));
      }
    });

    it("S3: CreateBucket records no resources, bucket calls do; the bucket name finds both", async () => {
      await viaProxy(["s3api", "create-bucket", "--bucket", "lk-bucket"]);
      await viaProxy(["s3api", "get-bucket-location", "--bucket", "lk-bucket"]);
      const [create] = await recordsNamed(server!, "s3.amazonaws.com", "CreateBucket");
      const [location] = await recordsNamed(server!, "s3.amazonaws.com", "GetBucketLocation");
      assert.ok(create && location);
      assert.equal(Object.hasOwn(create, "resources"), false);
      assert.deepEqual(location["resources"], [
        { accountId: TEST_ACCOUNT_ID, type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::lk-bucket" },
      ]);
      for (const value of ["lk-bucket", "arn:aws:s3:::lk-bucket"]) {
        const ids = (await lookupByName(value)).map((e) => e.EventId);
        assert.ok(ids.includes(create["eventID"] as string), `ResourceName=${value} finds CreateBucket`);
        assert.ok(ids.includes(location["eventID"] as string), `ResourceName=${value} finds GetBucketLocation`);
      }
    });

    it("ElastiCache CreateCacheCluster", async () => {
      await viaProxy([
        "elasticache",
        "create-cache-cluster",
        "--cache-cluster-id",
        "lk-memcached",
        "--engine",
        "memcached",
        "--num-cache-nodes",
        "1",
        "--cache-node-type",
        "cache.t3.micro",
      ]);
      await assertFound(
        "elasticache.amazonaws.com",
        "CreateCacheCluster",
        "AWS::ElastiCache::CacheCluster",
        "lk-memcached",
        `arn:aws:elasticache:${REGION}:${TEST_ACCOUNT_ID}:cluster:lk-memcached`,
      );
    });
  },
);
