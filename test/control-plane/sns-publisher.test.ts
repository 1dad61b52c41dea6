import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SnsPublisher } from "../../src/control-plane/sns/index.js";
import { openSqliteSnsStore, type SnsStore, type SnsTopic } from "../../src/stores/sns/index.js";
import { openSqliteTrailStore, type SqliteTrailStore, type TrailConfig } from "../../src/stores/trails/index.js";
import { TrailNotifications } from "../../src/consumers/trail-delivery/trail-notifications.js";
import { publishTrailNotification } from "../../src/control-plane/trails/trail-topic.js";

const ACCOUNT = "111122223333";
const TOPIC: SnsTopic = {
  arn: `arn:aws:sns:us-east-1:${ACCOUNT}:files`,
  accountId: ACCOUNT,
  region: "us-east-1",
  name: "files",
  displayName: "",
  createdAtMs: 0,
};

interface Post {
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

/** An endpoint that answers each POST with the next status of `statuses` (the last one repeats). */
async function endpoint(statuses: number[]): Promise<{ server: Server; url: string; posts: Post[] }> {
  const posts: Post[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      posts.push({
        headers: request.headers,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Post["body"],
      });
      response.writeHead(statuses[Math.min(posts.length, statuses.length) - 1]!).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`, posts };
}

/** A port nothing listens on: a server bound, its port noted, then closed. */
async function closedPortUrl(): Promise<string> {
  const { server, url } = await endpoint([200]);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return url;
}

async function subscribe(store: SnsStore, url: string, n: number, confirmed: boolean): Promise<string> {
  const tokenHash = String(n).repeat(64).slice(0, 64);
  const arn = `${TOPIC.arn}:00000000-0000-0000-0000-00000000000${n}`;
  await store.subscribe({
    arn,
    topicArn: TOPIC.arn,
    accountId: ACCOUNT,
    protocol: "http",
    endpoint: url,
    createdAtMs: 0,
    tokenHash,
    tokenExpiresMs: Number.MAX_SAFE_INTEGER,
  });
  if (confirmed) await store.confirm(TOPIC.arn, tokenHash, 1);
  return arn;
}

describe("SnsPublisher and trail notifications, over real endpoints", () => {
  let dir: string;
  let store: SnsStore;
  let trails: SqliteTrailStore;
  const servers: Server[] = [];
  const shutdown = new AbortController();
  const publisher = () =>
    new SnsPublisher({ store, shutdown: shutdown.signal, nowMs: () => 0, retryDelaysMs: [5, 5, 5] });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "cairn-sns-publisher-"));
    store = openSqliteSnsStore(join(dir, "sns.db"));
    trails = openSqliteTrailStore(join(dir, "control-plane.db"));
    await store.createTopic(TOPIC);
  });
  after(async () => {
    shutdown.abort();
    for (const server of servers) server.close();
    await store.close();
    trails.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("POSTs one Notification per confirmed subscription, retries a failing one, skips pending ones", async () => {
    const steady = await endpoint([200]);
    const flaky = await endpoint([500, 503, 200]);
    const pending = await endpoint([200]);
    servers.push(steady.server, flaky.server, pending.server);
    const steadyArn = await subscribe(store, steady.url, 1, true);
    await subscribe(store, flaky.url, 2, true);
    await subscribe(store, pending.url, 3, false);
    const down = await subscribe(store, await closedPortUrl(), 4, true);

    const outcome = await publisher().publish(TOPIC, { message: "m", subject: "s" });
    assert.equal(outcome.delivered, 2);
    assert.deepEqual(outcome.failed, [{ subscriptionArn: down, reason: "ECONNREFUSED" }]);
    assert.equal(pending.posts.length, 0, "a pending subscription gets nothing");
    assert.equal(flaky.posts.length, 3, "retried until it answered 2xx");
    assert.ok(flaky.posts.every((post) => post.body["MessageId"] === outcome.messageId));
    const [post] = steady.posts;
    assert.deepEqual(post?.body, {
      Type: "Notification",
      MessageId: outcome.messageId,
      TopicArn: TOPIC.arn,
      Subject: "s",
      Message: "m",
      Timestamp: "1970-01-01T00:00:00.000Z",
    });
    assert.equal(post?.headers["x-amz-sns-message-type"], "Notification");
    assert.equal(post?.headers["x-amz-sns-subscription-arn"], steadyArn);
    assert.equal(post?.headers["x-amz-sns-topic-arn"], TOPIC.arn);
    await store.unsubscribe(down);
  });

  it("records a trail's notification outcome in its status, only while the deliverer still owns the trail", async () => {
    const trail: TrailConfig = {
      accountId: ACCOUNT,
      name: "t1",
      homeRegion: "us-east-1",
      trailArn: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/t1`,
      s3BucketName: "b",
      snsTopicName: "files",
      includeGlobalServiceEvents: true,
      isMultiRegionTrail: false,
      isOrganizationTrail: false,
      logFileValidationEnabled: false,
      hasCustomEventSelectors: false,
      tags: [],
      isLogging: true,
      createdAtMs: 0,
    };
    await trails.put(trail);
    const sent = publisher();
    let now = 1_000;
    const notifications = new TrailNotifications({
      notify: (t, message) => publishTrailNotification(store, sent, t, message),
      trails,
      clock: { nowMs: () => now },
      report: (error) => assert.fail(String(error)),
    });
    const file = (key: string) => ({
      accountId: ACCOUNT,
      region: "us-east-1",
      bucket: "b",
      key,
      hashValue: "",
      oldestEventTime: null,
      newestEventTime: null,
      deliveredAtMs: 0,
    });
    notifications.enqueue(trail, [file("k1"), file("k2")], () => true);
    await notifications.idle();
    const status = await trails.status(trail.trailArn);
    assert.equal(status.latestNotificationTimeMs, 1_000);
    assert.equal(status.latestNotificationError, undefined);

    now = 2_000;
    notifications.enqueue(trail, [file("k3")], () => false);
    await notifications.idle();
    assert.equal((await trails.status(trail.trailArn)).latestNotificationAttemptTimeMs, 1_000, "nothing once revoked");

    const failing = await endpoint([500]);
    servers.push(failing.server);
    await subscribe(store, failing.url, 5, true);
    notifications.enqueue(trail, [file("k4")], () => true);
    await notifications.idle();
    const failed = await trails.status(trail.trailArn);
    assert.equal(failed.latestNotificationTimeMs, 1_000);
    assert.equal(failed.latestNotificationAttemptTimeMs, 2_000);
    assert.match(
      failed.latestNotificationError ?? "",
      /^1 of 3 subscriptions of .+ were not reached after retries \(.+: HTTP 500\)\.$/,
    );
    assert.equal(failing.posts.length, 4, "the first POST and 3 retries");
    const messages = failing.posts.map((post) => JSON.parse(String(post.body["Message"])) as unknown);
    assert.deepEqual(messages[0], { s3Bucket: "b", s3ObjectKey: ["k4"] });

    await store.deleteTopic(TOPIC.arn);
    notifications.enqueue(trail, [file("k5")], () => true);
    await notifications.idle();
    assert.match((await trails.status(trail.trailArn)).latestNotificationError ?? "", /does not exist/);
  });
});
