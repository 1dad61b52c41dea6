import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { removeDataDir, startServerProcess, TEST_ACCOUNT_ID, type ServerProcess } from "../helpers/server-process.js";
import { ensureTrailBucket } from "../helpers/test-backend.js";
import { awsCliMissingReason, runAws, type AwsCliResult } from "../helpers/aws-cli.js";
import { addPrincipal } from "../helpers/principals.js";
import { pollUntil } from "../helpers/poll.js";

const skip = awsCliMissingReason();
const BUCKET = "cairn-notified";
const FAST = { CAIRN_DELIVERY_INTERVAL_SECONDS: "1", CAIRN_DIGEST_INTERVAL_SECONDS: "2" };

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

/** A subscriber's HTTP endpoint on 127.0.0.1: it keeps every POST, and can be stopped (down) for good. */
async function startReceiver(): Promise<{ server: Server; url: string; received: Received[]; stop(): Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      received.push({ headers: request.headers, body: JSON.parse(text) as Record<string, unknown> });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cairn-hook`;
  const stop = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };
  return { server, url, received, stop };
}

function ok(result: AwsCliResult): Record<string, unknown> {
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim() === "" ? {} : (JSON.parse(result.stdout) as Record<string, unknown>);
}

describe("trail SNS notifications with the real AWS CLI", { skip }, () => {
  let server: ServerProcess;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let aws: (args: string[], env?: Record<string, string>) => Promise<AwsCliResult>;
  const topicArn = `arn:aws:sns:us-east-1:${TEST_ACCOUNT_ID}:trail-files`;
  const notifications = () => receiver.received.filter((m) => m.headers["x-amz-sns-message-type"] === "Notification");

  before(async () => {
    server = await startServerProcess({ env: FAST });
    await ensureTrailBucket(server.dataDir, BUCKET);
    receiver = await startReceiver();
    aws = (args, env) => runAws(server.dataDir, [...args, "--region", "us-east-1", "--output", "json"], env);
  });
  after(async () => {
    await receiver?.stop().catch(() => undefined);
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("subscribes a local endpoint, confirmed with the token of the SubscribeURL it was sent", async () => {
    ok(await aws(["sns", "create-topic", "--name", "trail-files"]));
    ok(
      await aws([
        "sns",
        "subscribe",
        "--topic-arn",
        topicArn,
        "--protocol",
        "http",
        "--notification-endpoint",
        receiver.url,
      ]),
    );
    const confirmation = await pollUntil(() => receiver.received[0], { message: "the SubscriptionConfirmation" });
    const subscribeUrl = new URL(String(confirmation.body["SubscribeURL"]));
    assert.equal(subscribeUrl.searchParams.get("TopicArn"), topicArn);
    const token = subscribeUrl.searchParams.get("Token")!;
    ok(await aws(["sns", "confirm-subscription", "--topic-arn", topicArn, "--token", token]));
  });

  it("refuses a topic that does not exist, or another account's topic, with InsufficientSnsTopicPolicyException", async () => {
    const other = await addPrincipal(server.dataDir, { name: "topic-owner", accountId: "444455556666" });
    const asOther = {
      AWS_ACCESS_KEY_ID: other.accessKeyId,
      AWS_SECRET_ACCESS_KEY: other.secretAccessKey,
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    };
    const theirs = ok(await aws(["sns", "create-topic", "--name", "their-topic"], asOther))["TopicArn"] as string;
    for (const topic of ["no-such-topic", theirs]) {
      const refused = await aws([
        "cloudtrail",
        "create-trail",
        "--name",
        "refused",
        "--s3-bucket-name",
        BUCKET,
        "--sns-topic-name",
        topic,
      ]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /InsufficientSnsTopicPolicyException/);
      assert.match(refused.stderr, /SNS Topic does not exist or the topic policy is incorrect!/);
    }
    const trails = ok(await aws(["cloudtrail", "describe-trails"]))["trailList"] as unknown[];
    assert.deepEqual(trails, [], "nothing was created");
  });

  it("notifies the topic after each delivery with the exact keys of the files delivered", async () => {
    const created = ok(
      await aws([
        "cloudtrail",
        "create-trail",
        "--name",
        "notified",
        "--s3-bucket-name",
        BUCKET,
        "--sns-topic-name",
        "trail-files",
        "--enable-log-file-validation",
      ]),
    );
    assert.equal(created["SnsTopicName"], "trail-files");
    assert.equal(created["SnsTopicARN"], topicArn);
    ok(await aws(["cloudtrail", "start-logging", "--name", "notified"]));
    ok(await aws(["sns", "list-topics"]));

    const first = await pollUntil(() => notifications()[0], { timeoutMs: 60_000, message: "a trail notification" });
    assert.equal(first.headers["x-amz-sns-topic-arn"], topicArn);
    assert.match(String(first.headers["x-amz-sns-subscription-arn"]), new RegExp(`^${topicArn}:[0-9a-f-]{36}$`));
    assert.equal(first.headers["x-amz-sns-message-id"], first.body["MessageId"]);
    assert.equal(first.body["Type"], "Notification");
    assert.equal(first.body["TopicArn"], topicArn);
    assert.match(String(first.body["Timestamp"]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const message = JSON.parse(String(first.body["Message"])) as { s3Bucket: string; s3ObjectKey: string[] };
    assert.deepEqual(Object.keys(message), ["s3Bucket", "s3ObjectKey"]);
    assert.equal(message.s3Bucket, BUCKET);
    assert.ok(message.s3ObjectKey.length >= 1);
    for (const key of message.s3ObjectKey) {
      assert.match(
        key,
        new RegExp(`^AWSLogs/${TEST_ACCOUNT_ID}/CloudTrail/us-east-1/\\d{4}/\\d\\d/\\d\\d/.+\\.json\\.gz$`),
      );
      ok(
        await runAws(server.dataDir, [
          "s3api",
          "head-object",
          "--bucket",
          BUCKET,
          "--key",
          key,
          "--endpoint-url",
          server.s3Url!,
          "--region",
          "us-east-1",
        ]),
      );
    }

    const status = await pollUntil(
      async () => {
        const got = ok(await aws(["cloudtrail", "get-trail-status", "--name", "notified"]));
        return typeof got["LatestNotificationTime"] === "number" ? got : undefined;
      },
      { message: "LatestNotificationTime" },
    );
    assert.equal(status["LatestNotificationError"], undefined);
    assert.match(String(status["LatestNotificationAttemptSucceeded"]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(String(status["LatestNotificationAttemptTime"]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it("publishes through SNS Publish to the same subscribers, with Subject and MessageAttributes", async () => {
    const published = ok(
      await aws([
        "sns",
        "publish",
        "--topic-arn",
        topicArn,
        "--message",
        "hello from Cairn",
        "--subject",
        "Cairn test",
        "--message-attributes",
        '{"team":{"DataType":"String","StringValue":"audit"}}',
      ]),
    );
    const messageId = published["MessageId"] as string;
    assert.match(messageId, /^[0-9a-f-]{36}$/);
    const got = await pollUntil(() => notifications().find((m) => m.body["MessageId"] === messageId), {
      message: "the published message",
    });
    assert.equal(got.body["Subject"], "Cairn test");
    assert.equal(got.body["Message"], "hello from Cairn");
    assert.deepEqual(got.body["MessageAttributes"], { team: { Type: "String", Value: "audit" } });
    const refused = await aws([
      "sns",
      "publish",
      "--topic-arn",
      `arn:aws:sns:us-east-1:444455556666:their-topic`,
      "--message",
      "x",
    ]);
    assert.match(refused.stderr, /AuthorizationError/);
    // On record: the refusal in Event history; a Publish that succeeded is a data event of its topic (not there).
    const records = ok(
      await aws([
        "cloudtrail",
        "lookup-events",
        "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=Publish",
      ]),
    )["Events"] as Array<{ CloudTrailEvent: string }>;
    const publishes = records.map((event) => JSON.parse(event.CloudTrailEvent) as Record<string, unknown>);
    assert.deepEqual(
      publishes.map((record) => [record["eventSource"], record["errorCode"]]),
      [["sns.amazonaws.com", "AuthorizationError"]],
    );
    assert.ok(!records[0]!.CloudTrailEvent.includes("hello from Cairn"), "no message is on record");
  });

  it("notifies every log file delivered, exactly its key, and never a digest file", async () => {
    const listing = async (): Promise<string[]> => {
      const listed = await runAws(server.dataDir, [
        ...["s3", "ls", `s3://${BUCKET}/`, "--recursive", "--endpoint-url", server.s3Url!, "--region", "us-east-1"],
      ]);
      assert.equal(listed.code, 0, listed.stderr);
      return listed.stdout
        .split("\n")
        .map((line) => line.trim().split(/\s+/)[3])
        .filter((key): key is string => key !== undefined);
    };
    const notifiedKeys = () =>
      notifications()
        .filter((m) => m.body["Subject"] === undefined)
        .flatMap((m) => (JSON.parse(String(m.body["Message"])) as { s3ObjectKey: string[] }).s3ObjectKey);
    // Digests are written every 2 s here: wait until the bucket holds one.
    const keys = await pollUntil(
      async () => {
        const all = await listing();
        return all.some((key) => key.includes("/CloudTrail-Digest/")) ? all : undefined;
      },
      { timeoutMs: 60_000, message: "a digest file" },
    );
    const logFiles = keys.filter((key) => key.includes("/CloudTrail/"));
    assert.ok(logFiles.length >= 2);
    // Every log file in the bucket is (or soon is) notified: the receiver is up.
    await pollUntil(() => logFiles.every((key) => notifiedKeys().includes(key)), {
      timeoutMs: 60_000,
      message: () => `notifications of ${logFiles.filter((key) => !notifiedKeys().includes(key)).join(", ")}`,
    });
    // And every key notified is a log file in the bucket, each named once.
    const notified = notifiedKeys();
    const now = new Set(await listing());
    assert.equal(new Set(notified).size, notified.length, "no key is notified twice");
    for (const key of notified) {
      assert.ok(now.has(key), `${key} is in the bucket`);
      assert.ok(key.includes("/CloudTrail/") && !key.includes("CloudTrail-Digest"), key);
    }
  });

  it("records LatestNotificationError when the endpoint is down, and delivery goes on", async () => {
    await receiver.stop();
    const before = ok(await aws(["cloudtrail", "get-trail-status", "--name", "notified"]));
    ok(await aws(["sns", "list-topics"]));
    const status = await pollUntil(
      async () => {
        const got = ok(await aws(["cloudtrail", "get-trail-status", "--name", "notified"]));
        return got["LatestNotificationError"] !== undefined ? got : undefined;
      },
      { timeoutMs: 90_000, message: "LatestNotificationError" },
    );
    assert.match(String(status["LatestNotificationError"]), /were not reached after retries/);
    assert.ok(!String(status["LatestNotificationError"]).includes(receiver.url), "the endpoint URL is not echoed");
    assert.equal(status["LatestDeliveryError"], undefined);
    assert.ok(
      Number(status["LatestDeliveryTime"]) > Number(before["LatestDeliveryTime"]),
      "files were still delivered",
    );
  });

  it("removes the topic with UpdateTrail --sns-topic-name ''", async () => {
    const updated = ok(await aws(["cloudtrail", "update-trail", "--name", "notified", "--sns-topic-name", ""]));
    assert.equal(updated["SnsTopicName"], undefined);
    assert.equal(updated["SnsTopicARN"], undefined);
    const trail = ok(await aws(["cloudtrail", "get-trail", "--name", "notified"]))["Trail"] as Record<string, unknown>;
    assert.equal(trail["SnsTopicARN"], undefined);
  });
});
