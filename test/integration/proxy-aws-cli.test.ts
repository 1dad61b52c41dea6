import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { awsCliMissingReason, runAws, type AwsCliResult } from "../helpers/aws-cli.js";
import {
  CLI,
  removeDataDir,
  startServerProcess,
  TEST_ACCOUNT_ID,
  type ServerProcess,
} from "../helpers/server-process.js";
import { freePort, motoMissingReason, startMotoServer, type MotoServer } from "../storage/moto-server.js";
import { journalRecords, startProxyProcess, type ProxyProcess } from "../capture/proxy-process.js";
import { pollUntil } from "../helpers/poll.js";

const execFileAsync = promisify(execFile);

/**
 * Issue 4 (capture proxy), end to end with real processes: the AWS CLI → `cairn proxy` → moto_server,
 * and the events checked in the real `cairn server` (LookupEvents for management events, the journal
 * through `cairn tail` for data events), against CloudTrail's own example events.
 */
const skip = awsCliMissingReason() || motoMissingReason();
const REGION = "us-east-2";

interface Principal {
  accessKeyId: string;
  secretAccessKey: string;
  principalId: string;
}

type EventRecord = Record<string, unknown> & {
  userIdentity?: Record<string, unknown>;
  requestParameters?: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
};

describe("cairn proxy in front of moto_server, driven by the AWS CLI", { skip }, () => {
  let server: ServerProcess;
  let moto: MotoServer;
  let proxy: ProxyProcess;
  let alice: Principal;
  let serverPort: number;

  const viaProxy = (
    args: string[],
    keys: { id: string; secret: string } = { id: alice.accessKeyId, secret: alice.secretAccessKey },
  ) =>
    runAws(server.dataDir, [...args, "--endpoint-url", proxy.url], {
      AWS_ACCESS_KEY_ID: keys.id,
      AWS_SECRET_ACCESS_KEY: keys.secret,
      AWS_DEFAULT_REGION: REGION,
    });
  const ok = (result: AwsCliResult): string => {
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  };

  /** Management events as LookupEvents returns them, retried while the proxy delivers. */
  const lookup = async (eventName: string, count = 1): Promise<EventRecord[]> => {
    let events: { CloudTrailEvent: string }[] = [];
    await pollUntil(
      async () => {
        const result = await runAws(server.dataDir, [
          "cloudtrail",
          "lookup-events",
          "--lookup-attributes",
          `AttributeKey=EventName,AttributeValue=${eventName}`,
          "--endpoint-url",
          server.url,
          // Event history is per region: the calls were made in REGION.
          "--region",
          REGION,
        ]);
        events =
          result.code === 0 ? (JSON.parse(result.stdout) as { Events: { CloudTrailEvent: string }[] }).Events : [];
        return events.length >= count;
      },
      {
        timeoutMs: 15_000,
        intervalMs: 300,
        message: () => `${count} ${eventName} events in LookupEvents; found ${JSON.stringify(events)}`,
      },
    );
    return events.map((event) => JSON.parse(event.CloudTrailEvent) as EventRecord);
  };

  const journalFind = (predicate: (record: EventRecord) => boolean): Promise<EventRecord[]> =>
    pollUntil(
      async () => {
        const found = (await journalRecords(server.url, server.dataDir)).filter(predicate);
        return found.length > 0 && found;
      },
      // Each read already takes a while (journalRecords lets `tail` replay the journal): read again at once.
      { timeoutMs: 15_000, intervalMs: 10, message: "a matching record in the journal" },
    );

  const assertCommon = (event: EventRecord, eventSource: string, eventName: string): void => {
    assert.equal(event["eventSource"], eventSource);
    assert.equal(event["eventName"], eventName);
    assert.equal(event["awsRegion"], REGION);
    assert.equal(event["eventType"], "AwsApiCall");
    assert.equal(event["recipientAccountId"], TEST_ACCOUNT_ID);
    assert.equal(event["sourceIPAddress"], "127.0.0.1");
    assert.match(String(event["userAgent"]), /^aws-cli\//);
    assert.match(String(event["eventID"]), /^[0-9a-f-]{36}$/);
    assert.ok(typeof event["requestID"] === "string" && event["requestID"] !== "");
    assert.deepEqual(event.userIdentity, {
      type: "IAMUser",
      principalId: alice.principalId,
      arn: `arn:aws:iam::${TEST_ACCOUNT_ID}:user/alice`,
      accountId: TEST_ACCOUNT_ID,
      accessKeyId: alice.accessKeyId,
      userName: "alice",
    });
  };

  before(async () => {
    serverPort = await freePort();
    server = await startServerProcess({ args: ["--port", String(serverPort)] });
    moto = await startMotoServer();
    const added = await execFileAsync(process.execPath, [
      CLI,
      "principal",
      "add",
      "--name",
      "alice",
      "--account-id",
      TEST_ACCOUNT_ID,
      "--data-dir",
      server.dataDir,
      "--json",
    ]);
    alice = JSON.parse(added.stdout) as Principal;
    proxy = await startProxyProcess({ upstream: moto.endpoint, server: server.url, dataDir: server.dataDir });
  });

  after(async () => {
    await proxy?.stop();
    await moto?.stop();
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("ElastiCache CreateCacheCluster: requestParameters with real types, responseElements from moto", async () => {
    ok(
      await viaProxy([
        "elasticache",
        "create-cache-cluster",
        "--cache-cluster-id",
        "test-memcached",
        "--engine",
        "memcached",
        "--num-cache-nodes",
        "2",
        "--cache-node-type",
        "cache.m1.small",
        "--az-mode",
        "cross-az",
      ]),
    );
    const [event] = await lookup("CreateCacheCluster");
    assert.ok(event, "no CreateCacheCluster event");
    assertCommon(event, "elasticache.amazonaws.com", "CreateCacheCluster");
    assert.deepEqual(event.requestParameters, {
      cacheClusterId: "test-memcached",
      aZMode: "cross-az",
      numCacheNodes: 2,
      cacheNodeType: "cache.m1.small",
      engine: "memcached",
    });
    // As in CloudTrail's example: the CacheCluster itself, numbers as numbers.
    assert.equal(event.responseElements?.["cacheClusterId"], "test-memcached");
    assert.equal(event.responseElements?.["numCacheNodes"], 2);
    assert.equal(event["readOnly"], false);
    assert.equal(event["managementEvent"], true);
    assert.equal(event["eventCategory"], "Management");
    // CloudTrail's CreateCacheCluster example (seed-examples) has no `resources` member.
    assert.equal(Object.hasOwn(event, "resources"), false);
  });

  it("DescribeCacheClusters is readOnly with responseElements null; a missing cluster is an errorCode event", async () => {
    ok(await viaProxy(["elasticache", "describe-cache-clusters"]));
    const missing = await viaProxy(["elasticache", "describe-cache-clusters", "--cache-cluster-id", "nope"]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /CacheClusterNotFound/);
    const events = await lookup("DescribeCacheClusters", 2);
    const success = events.find((event) => event["errorCode"] === undefined);
    const failure = events.find((event) => event["errorCode"] !== undefined);
    assert.ok(success && failure, JSON.stringify(events));
    assertCommon(success, "elasticache.amazonaws.com", "DescribeCacheClusters");
    assert.equal(success["readOnly"], true);
    assert.equal(success.responseElements, null);
    assert.equal(failure["errorCode"], "CacheClusterNotFound");
    assert.equal(failure["errorMessage"], "Cache cluster nope not found.");
    assert.deepEqual(failure.requestParameters, { cacheClusterId: "nope" });
  });

  it("EC2 RunInstances / TerminateInstances: instancesSet items, as CloudTrail writes EC2 lists", async () => {
    const run = JSON.parse(
      ok(
        await viaProxy([
          "ec2",
          "run-instances",
          "--image-id",
          "ami-12c6146b",
          "--count",
          "1",
          "--instance-type",
          "t2.micro",
        ]),
      ),
    ) as { Instances: { InstanceId: string }[] };
    const instanceId = run.Instances[0]!.InstanceId;
    ok(await viaProxy(["ec2", "terminate-instances", "--instance-ids", instanceId]));

    const [runEvent] = await lookup("RunInstances");
    assert.ok(runEvent);
    assertCommon(runEvent, "ec2.amazonaws.com", "RunInstances");
    // As CloudTrail logs RunInstances: image and counts inside instancesSet.items.
    assert.deepEqual(runEvent.requestParameters?.["instancesSet"], {
      items: [{ imageId: "ami-12c6146b", minCount: 1, maxCount: 1 }],
    });
    assert.equal(runEvent.requestParameters?.["imageId"], undefined);
    assert.equal(runEvent.requestParameters?.["instanceType"], "t2.micro");
    const runItems = (runEvent.responseElements?.["instancesSet"] as { items: Record<string, unknown>[] }).items;
    assert.equal(runItems[0]?.["instanceId"], instanceId);

    const [terminate] = await lookup("TerminateInstances");
    assert.ok(terminate);
    assertCommon(terminate, "ec2.amazonaws.com", "TerminateInstances");
    assert.deepEqual(terminate.requestParameters, { instancesSet: { items: [{ instanceId }] } });
    const items = (terminate.responseElements?.["instancesSet"] as { items: Record<string, unknown>[] }).items;
    assert.deepEqual(items[0], {
      currentState: { code: 32, name: "shutting-down" },
      instanceId,
      previousState: { code: 16, name: "running" },
    });
    assert.ok(typeof terminate.responseElements?.["requestId"] === "string");
    // CloudTrail's TerminateInstances example (seed-examples) has no `resources` member.
    assert.equal(Object.hasOwn(terminate, "resources"), false);
  });

  it("RDS CreateDBInstance: masterUserPassword is masked", async () => {
    ok(
      await viaProxy([
        "rds",
        "create-db-instance",
        "--db-instance-identifier",
        "db1",
        "--db-instance-class",
        "db.t3.micro",
        "--engine",
        "mysql",
        "--master-username",
        "admin",
        "--master-user-password",
        "s3cr3t-password",
        "--allocated-storage",
        "20",
      ]),
    );
    const [event] = await lookup("CreateDBInstance");
    assert.ok(event);
    assertCommon(event, "rds.amazonaws.com", "CreateDBInstance");
    assert.equal(event.requestParameters?.["masterUserPassword"], "****");
    assert.equal(event.requestParameters?.["allocatedStorage"], 20);
    assert.equal(event.requestParameters?.["dBInstanceIdentifier"], "db1");
    assert.equal(event.responseElements?.["dBInstanceIdentifier"], "db1");
    assert.ok(!JSON.stringify(event).includes("s3cr3t-password"));
  });

  it("SSM CreateDocument / DeleteDocument (json 1.1)", async () => {
    const content = JSON.stringify({
      schemaVersion: "2.2",
      description: "Run a shell script",
      mainSteps: [{ action: "aws:runShellScript", name: "run", inputs: { runCommand: ["echo hi"] } }],
    });
    ok(
      await viaProxy(["ssm", "create-document", "--name", "doc1", "--content", content, "--document-type", "Command"]),
    );
    ok(await viaProxy(["ssm", "delete-document", "--name", "doc1"]));
    const [created] = await lookup("CreateDocument");
    assert.ok(created);
    assertCommon(created, "ssm.amazonaws.com", "CreateDocument");
    assert.deepEqual(created.requestParameters, { content, name: "doc1", documentType: "Command" });
    const description = created.responseElements?.["documentDescription"] as Record<string, unknown>;
    assert.equal(description["name"], "doc1");
    const [deleted] = await lookup("DeleteDocument");
    assert.ok(deleted);
    assertCommon(deleted, "ssm.amazonaws.com", "DeleteDocument");
    assert.deepEqual(deleted.requestParameters, { name: "doc1" });
    // As CloudTrail's DeleteDocument example (seed-examples): the document's ARN, untyped.
    assert.deepEqual(deleted["resources"], [
      { accountId: TEST_ACCOUNT_ID, ARN: `arn:aws:ssm:${REGION}:${TEST_ACCOUNT_ID}:document/doc1` },
    ]);
  });

  it("S3 PutObject / GetObject (rest-xml) are data events, in the journal and not in Event history", async () => {
    const file = join(server.dataDir, "object.bin");
    writeFileSync(file, randomBytes(3 * 1024 * 1024));
    ok(
      await viaProxy([
        "s3api",
        "create-bucket",
        "--bucket",
        "bk1",
        "--create-bucket-configuration",
        `LocationConstraint=${REGION}`,
      ]),
    );
    ok(await viaProxy(["s3api", "put-object", "--bucket", "bk1", "--key", "dir/object.bin", "--body", file]));
    ok(
      await viaProxy([
        "s3api",
        "get-object",
        "--bucket",
        "bk1",
        "--key",
        "dir/object.bin",
        join(server.dataDir, "back.bin"),
      ]),
    );
    const events = await journalFind((r) => r["eventSource"] === "s3.amazonaws.com" && r["eventName"] === "GetObject");
    const all = await journalRecords(server.url, server.dataDir);
    for (const eventName of ["PutObject", "GetObject"]) {
      const event = all.find(
        (r) => r["eventSource"] === "s3.amazonaws.com" && r["eventName"] === eventName,
      ) as EventRecord;
      assert.ok(event, `${eventName} not in the journal (${events.length})`);
      assertCommon(event, "s3.amazonaws.com", eventName);
      assert.equal(event["eventCategory"], "Data");
      assert.equal(event["managementEvent"], false);
      assert.equal(event.requestParameters?.["bucketName"], "bk1");
      assert.equal(event.requestParameters?.["key"], "dir/object.bin");
      assert.deepEqual(event["resources"], [
        { type: "AWS::S3::Object", ARN: "arn:aws:s3:::bk1/dir/object.bin" },
        { accountId: TEST_ACCOUNT_ID, type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::bk1" },
      ]);
    }
    const get = all.find((r) => r["eventName"] === "GetObject") as EventRecord;
    assert.equal(get["readOnly"], true);
    assert.equal(get.responseElements, null);
    assert.deepEqual(await lookup("PutObject", 0), [], "data events are not in Event history");
    const [bucket] = await lookup("CreateBucket");
    assert.equal(bucket?.["eventCategory"], "Management");
  });

  it("answers reach the client byte-identical (a 3 MiB object streamed past the capture cap, an XML answer)", async () => {
    // moto does not check signatures, but routes on the credential scope's service.
    const auth = (service: string): string =>
      `AWS4-HMAC-SHA256 Credential=${alice.accessKeyId}/20260101/${REGION}/${service}/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}`;
    const fetchBoth = async (path: string, init: RequestInit): Promise<[Response, Buffer, Response, Buffer]> => {
      const direct = await fetch(`${moto.endpoint}${path}`, init);
      const directBody = Buffer.from(await direct.arrayBuffer());
      const proxied = await fetch(`${proxy.url}${path}`, init);
      return [direct, directBody, proxied, Buffer.from(await proxied.arrayBuffer())];
    };
    const [direct, directBody, proxied, proxiedBody] = await fetchBoth("/bk1/dir/object.bin", {
      headers: { authorization: auth("s3") },
    });
    assert.equal(proxied.status, direct.status);
    assert.equal(proxiedBody.length, 3 * 1024 * 1024);
    assert.ok(proxiedBody.equals(directBody));
    assert.equal(proxied.headers.get("etag"), direct.headers.get("etag"));
    const form = {
      method: "POST",
      headers: { authorization: auth("ec2"), "content-type": "application/x-www-form-urlencoded" },
    };
    const [d, dBody, p, pBody] = await fetchBoth("/", { ...form, body: "Action=DescribeRegions&Version=2016-11-15" });
    assert.equal(p.status, d.status);
    assert.equal(p.headers.get("content-type"), d.headers.get("content-type"));
    assert.equal(pBody.toString("utf8"), dBody.toString("utf8"));
  });

  it("an unknown access key still produces an event, with identity type Unknown", async () => {
    ok(await viaProxy(["elasticache", "describe-cache-clusters"], { id: "AKIAUNKNOWNCALLER000", secret: "x" }));
    const events = await lookup("DescribeCacheClusters", 3);
    const event = events.find((candidate) => candidate.userIdentity?.["type"] === "Unknown");
    assert.ok(event, JSON.stringify(events));
    assert.deepEqual(event.userIdentity, { type: "Unknown", accessKeyId: "AKIAUNKNOWNCALLER000" });
    assert.equal(event["recipientAccountId"], TEST_ACCOUNT_ID);
  });

  it("events made while the server is down are delivered after it restarts", async () => {
    await server.stop();
    ok(await viaProxy(["rds", "describe-db-instances"]));
    server = await startServerProcess({ dataDir: server.dataDir, args: ["--port", String(serverPort)] });
    const [event] = await lookup("DescribeDBInstances");
    assert.ok(event, `not delivered after the restart. Proxy output:\n${proxy.output()}`);
    assertCommon(event, "rds.amazonaws.com", "DescribeDBInstances");
  });

  it("--verify-signatures forwards calls signed with a known secret and refuses the rest, recording both", async () => {
    const verifying = await startProxyProcess({
      upstream: moto.endpoint,
      server: server.url,
      dataDir: server.dataDir,
      args: ["--verify-signatures"],
    });
    try {
      const call = (secret: string, id = alice.accessKeyId) =>
        runAws(server.dataDir, ["ssm", "list-documents", "--endpoint-url", verifying.url], {
          AWS_ACCESS_KEY_ID: id,
          AWS_SECRET_ACCESS_KEY: secret,
          AWS_DEFAULT_REGION: REGION,
          AWS_MAX_ATTEMPTS: "1",
        });
      ok(await call(alice.secretAccessKey));
      const forged = await call("not-the-secret");
      assert.notEqual(forged.code, 0);
      assert.match(forged.stderr, /InvalidSignatureException/);
      const unknown = await call("x", "AKIANOBODYKNOWSTHIS0");
      assert.match(unknown.stderr, /UnrecognizedClientException/);
      const events = await lookup("ListDocuments", 3);
      assert.deepEqual(events.map((event) => event["errorCode"] ?? "ok").sort(), [
        "InvalidSignatureException",
        "UnrecognizedClientException",
        "ok",
      ]);
    } finally {
      await verifying.stop();
    }
  });
});
