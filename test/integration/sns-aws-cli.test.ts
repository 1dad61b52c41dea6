import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import {
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { awsCliMissingReason, runAws } from "../helpers/aws-cli.js";
import { addPrincipal } from "../helpers/principals.js";
import { pollUntil } from "../helpers/poll.js";
import { sendRaw } from "../helpers/signed-request.js";

const skip = awsCliMissingReason();
const hasBoto3 = spawnSync("python3", ["-c", "import boto3"]).status === 0;
if (!hasBoto3)
  process.stderr.write(
    "\n*** SKIPPED LOUDLY: python3 -c 'import boto3' fails here; the boto3 SNS test needs it. ***\n\n",
  );

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A local HTTP endpoint, as a subscriber runs one: it keeps every POST it is sent. */
async function startReceiver(): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

/** Runs a Python snippet with boto3's SNS client bound to `sns` (as the test admin); returns its JSON output. */
function boto3(url: string, body: string): unknown {
  const script = [
    "import boto3, json",
    "from botocore.exceptions import ClientError",
    `sns = boto3.client('sns', endpoint_url='${url}', region_name='us-east-1',`,
    `  aws_access_key_id='${TEST_ACCESS_KEY_ID}', aws_secret_access_key='${TEST_SECRET_ACCESS_KEY}')`,
    "def code(call):",
    "  try:",
    "    call()",
    "    return None",
    "  except ClientError as e:",
    "    return [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]",
    body,
  ].join("\n");
  const run = spawnSync("python3", ["-c", script], { encoding: "utf8", timeout: 120_000 });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as unknown;
}

describe("SNS on Cairn's endpoint, with the real AWS CLI and boto3", { skip }, () => {
  let server: ServerProcess;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let aws: (args: string[], env?: Record<string, string>) => ReturnType<typeof runAws>;
  const topicArn = `arn:aws:sns:us-east-1:${TEST_ACCOUNT_ID}:cairn-alerts`;

  before(async () => {
    server = await startServerProcess();
    receiver = await startReceiver();
    aws = (args, env) => runAws(server.dataDir, [...args, "--region", "us-east-1", "--output", "json"], env);
  });
  after(async () => {
    receiver?.server.close();
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("reaches SNS through the config file the server wrote (no --endpoint-url)", async () => {
    const config = readFileSync(join(server.dataDir, "config"), "utf8");
    assert.match(config, /\nsns =\n {2}endpoint_url = http:\/\/127\.0\.0\.1:\d+\n/);
    const created = await aws(["sns", "create-topic", "--name", "cairn-alerts"]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal((JSON.parse(created.stdout) as { TopicArn: string }).TopicArn, topicArn);
  });

  it("creates idempotently, lists, and keeps DisplayName and Policy", async () => {
    const again = await aws(["sns", "create-topic", "--name", "cairn-alerts", "--endpoint-url", server.url]);
    assert.equal((JSON.parse(again.stdout) as { TopicArn: string }).TopicArn, topicArn);
    const listed = JSON.parse((await aws(["sns", "list-topics"])).stdout) as { Topics: Array<{ TopicArn: string }> };
    assert.deepEqual(listed.Topics, [{ TopicArn: topicArn }]);
    const policy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "cloudtrail.amazonaws.com" },
          Action: "SNS:Publish",
          Resource: topicArn,
        },
      ],
    });
    for (const [name, value] of [
      ["DisplayName", "Cairn alerts"],
      ["Policy", policy],
    ] as const) {
      const set = await aws([
        "sns",
        "set-topic-attributes",
        "--topic-arn",
        topicArn,
        "--attribute-name",
        name,
        "--attribute-value",
        value,
      ]);
      assert.equal(set.code, 0, set.stderr);
    }
    const got = await aws(["sns", "get-topic-attributes", "--topic-arn", topicArn]);
    const attributes = (JSON.parse(got.stdout) as { Attributes: Record<string, string> }).Attributes;
    assert.equal(attributes["DisplayName"], "Cairn alerts");
    assert.equal(attributes["Policy"], policy);
    assert.equal(attributes["Owner"], TEST_ACCOUNT_ID);
    assert.equal(attributes["TopicArn"], topicArn);
    const bad = await aws([
      "sns",
      "set-topic-attributes",
      "--topic-arn",
      topicArn,
      "--attribute-name",
      "Policy",
      "--attribute-value",
      "{not json",
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /InvalidParameter/);
  });

  it("sends a SubscriptionConfirmation to a local endpoint, which confirms through the API", async () => {
    const subscribed = await aws([
      "sns",
      "subscribe",
      "--topic-arn",
      topicArn,
      "--protocol",
      "http",
      "--notification-endpoint",
      receiver.url,
    ]);
    assert.equal(subscribed.code, 0, subscribed.stderr);
    assert.equal(
      (JSON.parse(subscribed.stdout) as { SubscriptionArn: string }).SubscriptionArn,
      "pending confirmation",
    );
    const message = await pollUntil(() => receiver.received[0], { message: "the SubscriptionConfirmation POST" });
    assert.equal(message.headers["x-amz-sns-message-type"], "SubscriptionConfirmation");
    assert.equal(message.headers["x-amz-sns-topic-arn"], topicArn);
    assert.match(String(message.headers["content-type"]), /^text\/plain/);
    const body = JSON.parse(message.body) as Record<string, string>;
    assert.equal(body["Type"], "SubscriptionConfirmation");
    assert.equal(body["TopicArn"], topicArn);
    assert.equal(body["MessageId"], message.headers["x-amz-sns-message-id"]);
    assert.match(body["Token"]!, /^[0-9a-f]{128}$/);
    const subscribeUrl = new URL(body["SubscribeURL"]!);
    assert.equal(subscribeUrl.origin, new URL(server.url).origin);
    assert.equal(subscribeUrl.searchParams.get("Action"), "ConfirmSubscription");
    assert.equal(subscribeUrl.searchParams.get("Token"), body["Token"]);

    const pending = await aws(["sns", "list-subscriptions-by-topic", "--topic-arn", topicArn]);
    const before = (JSON.parse(pending.stdout) as { Subscriptions: Array<Record<string, string>> }).Subscriptions;
    assert.deepEqual(before, [
      {
        SubscriptionArn: "PendingConfirmation",
        Owner: TEST_ACCOUNT_ID,
        Protocol: "http",
        Endpoint: receiver.url,
        TopicArn: topicArn,
      },
    ]);
    const wrong = await aws(["sns", "confirm-subscription", "--topic-arn", topicArn, "--token", "0".repeat(128)]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /InvalidParameter/);

    const confirmed = await aws(["sns", "confirm-subscription", "--topic-arn", topicArn, "--token", body["Token"]!]);
    assert.equal(confirmed.code, 0, confirmed.stderr);
    const subscriptionArn = (JSON.parse(confirmed.stdout) as { SubscriptionArn: string }).SubscriptionArn;
    assert.match(subscriptionArn, new RegExp(`^${topicArn}:[0-9a-f-]{36}$`));
    const after = await aws(["sns", "list-subscriptions-by-topic", "--topic-arn", topicArn]);
    const listed = (JSON.parse(after.stdout) as { Subscriptions: Array<Record<string, string>> }).Subscriptions;
    assert.deepEqual(listed, [{ ...before[0], SubscriptionArn: subscriptionArn }]);
    const attributes = JSON.parse((await aws(["sns", "get-topic-attributes", "--topic-arn", topicArn])).stdout) as {
      Attributes: Record<string, string>;
    };
    assert.equal(attributes.Attributes["SubscriptionsConfirmed"], "1");
    assert.equal(attributes.Attributes["SubscriptionsPending"], "0");

    // The token is a secret: not on record, not in the embedded store's files.
    const records = await aws([
      "cloudtrail",
      "lookup-events",
      "--lookup-attributes",
      "AttributeKey=EventName,AttributeValue=ConfirmSubscription",
    ]);
    const events = (JSON.parse(records.stdout) as { Events: Array<{ CloudTrailEvent: string }> }).Events;
    assert.equal(events.length, 2, "both confirmations are on record");
    for (const event of events) {
      const record = JSON.parse(event.CloudTrailEvent) as Record<string, unknown>;
      assert.equal(record["eventSource"], "sns.amazonaws.com");
      assert.deepEqual(record["requestParameters"], { topicArn });
      assert.ok(!event.CloudTrailEvent.includes(body["Token"]!));
    }
    for (const file of ["sns.db", "sns.db-wal"].map((name) => join(server.dataDir, name)).filter(existsSync)) {
      assert.ok(!readFileSync(file).includes(body["Token"]!), `${file} holds no token`);
    }

    const unsubscribed = await aws(["sns", "unsubscribe", "--subscription-arn", subscriptionArn]);
    assert.equal(unsubscribed.code, 0, unsubscribed.stderr);
    const gone = await aws(["sns", "unsubscribe", "--subscription-arn", subscriptionArn]);
    assert.equal(gone.code, 0, "unsubscribing again is no error, as in SNS");
    const left = await aws(["sns", "list-subscriptions-by-topic", "--topic-arn", topicArn]);
    assert.deepEqual((JSON.parse(left.stdout) as { Subscriptions: unknown[] }).Subscriptions, []);
  });

  it("a subscriber confirms by fetching the SubscribeURL, unsigned, as SNS subscribers do", async () => {
    // The subscriber: on a SubscriptionConfirmation it GETs the SubscribeURL and keeps the answer.
    const answers: Array<{ status: number; text: string }> = [];
    const confirming = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        response.writeHead(200).end();
        const message = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, string>;
        if (message["Type"] !== "SubscriptionConfirmation") return;
        void fetch(message["SubscribeURL"]!).then(async (got) =>
          answers.push({ status: got.status, text: await got.text() }),
        );
      });
    });
    await new Promise<void>((resolve) => confirming.listen(0, "127.0.0.1", resolve));
    try {
      const endpoint = `http://127.0.0.1:${(confirming.address() as AddressInfo).port}/sns`;
      const subscribed = await aws([
        "sns",
        "subscribe",
        "--topic-arn",
        topicArn,
        "--protocol",
        "http",
        "--notification-endpoint",
        endpoint,
      ]);
      assert.equal(subscribed.code, 0, subscribed.stderr);
      const answer = await pollUntil(() => answers[0], {
        message: "the subscriber's GET of the SubscribeURL answered",
      });
      assert.equal(answer.status, 200, answer.text);
      const arn = /<SubscriptionArn>([^<]+)<\/SubscriptionArn>/.exec(answer.text)?.[1];
      assert.ok(
        answer.text.startsWith('<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'),
      );
      assert.match(String(arn), new RegExp(`^${topicArn}:[0-9a-f-]{36}$`));
      const listed = await aws(["sns", "list-subscriptions-by-topic", "--topic-arn", topicArn]);
      const subscriptions = (JSON.parse(listed.stdout) as { Subscriptions: Array<Record<string, string>> })
        .Subscriptions;
      assert.deepEqual(
        subscriptions.map((s) => [s["SubscriptionArn"], s["Endpoint"]]),
        [[arn, endpoint]],
      );

      // The token is the credential: a made-up one, or a real one for another topic, confirms nothing.
      const url = (query: Record<string, string>) =>
        `${server.url}/?${new URLSearchParams({ Action: "ConfirmSubscription", ...query }).toString()}`;
      const guessed = await fetch(url({ TopicArn: topicArn, Token: "f".repeat(128) }));
      assert.equal(guessed.status, 400);
      assert.match(await guessed.text(), /<Code>InvalidParameter<\/Code>/);
      const otherTopic = `arn:aws:sns:us-east-1:${TEST_ACCOUNT_ID}:cairn-other`;
      assert.equal((await aws(["sns", "create-topic", "--name", "cairn-other"])).code, 0);
      const pending = await aws([
        "sns",
        "subscribe",
        "--topic-arn",
        otherTopic,
        "--protocol",
        "http",
        "--notification-endpoint",
        receiver.url,
      ]);
      assert.equal(pending.code, 0, pending.stderr);
      const message = await pollUntil(
        () =>
          receiver.received
            .map((r) => JSON.parse(r.body) as Record<string, string>)
            .find((m) => m["TopicArn"] === otherTopic),
        { message: "the other topic's SubscriptionConfirmation" },
      );
      const crossed = await fetch(url({ TopicArn: topicArn, Token: message["Token"]! }));
      assert.equal(crossed.status, 400, "a token confirms only its own subscription");
      const other = await aws(["sns", "list-subscriptions-by-topic", "--topic-arn", otherTopic]);
      assert.equal(
        (JSON.parse(other.stdout) as { Subscriptions: Array<Record<string, string>> }).Subscriptions[0]?.[
          "SubscriptionArn"
        ],
        "PendingConfirmation",
      );
      const browser = await fetch(`${server.url}/`, { headers: { accept: "application/json" } });
      assert.equal(browser.status, 404, "GET / without the action is still the console's");

      const records = await aws([
        "cloudtrail",
        "lookup-events",
        "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=ConfirmSubscription",
      ]);
      const events = (JSON.parse(records.stdout) as { Events: Array<{ CloudTrailEvent: string }> }).Events.map(
        (event) => JSON.parse(event.CloudTrailEvent) as Record<string, unknown>,
      );
      const byUrl = events.find(
        (record) => (record["responseElements"] as { subscriptionArn?: string } | null)?.subscriptionArn === arn,
      );
      assert.ok(byUrl !== undefined, "the confirmation through the SubscribeURL is on record");
      assert.deepEqual(byUrl["userIdentity"], { type: "Unknown" });
      assert.deepEqual(byUrl["requestParameters"], { topicArn });
      assert.equal(byUrl["recipientAccountId"], TEST_ACCOUNT_ID);
      assert.ok(!JSON.stringify(events).includes(message["Token"]!));
      assert.equal((await aws(["sns", "unsubscribe", "--subscription-arn", arn!])).code, 0);
      // The later tests count this account's topics.
      assert.equal((await aws(["sns", "delete-topic", "--topic-arn", otherTopic])).code, 0);
    } finally {
      await new Promise<void>((resolve) => confirming.close(() => resolve()));
    }
  });

  it("refuses other accounts and callers without sns: permissions, and records every call", async () => {
    const other = await addPrincipal(server.dataDir, { name: "other-admin", accountId: "444455556666" });
    const asOther = {
      AWS_ACCESS_KEY_ID: other.accessKeyId,
      AWS_SECRET_ACCESS_KEY: other.secretAccessKey,
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    };
    const theirs = await aws(["sns", "list-topics"], asOther);
    assert.equal(theirs.code, 0, theirs.stderr);
    assert.deepEqual((JSON.parse(theirs.stdout) as { Topics: unknown[] }).Topics, []);
    const peek = await aws(["sns", "get-topic-attributes", "--topic-arn", topicArn], asOther);
    assert.match(peek.stderr, /AuthorizationError/);
    const nobody = await addPrincipal(server.dataDir, { name: "no-sns", policyArns: [] });
    const denied = await aws(["sns", "create-topic", "--name", "not-allowed"], {
      AWS_ACCESS_KEY_ID: nobody.accessKeyId,
      AWS_SECRET_ACCESS_KEY: nobody.secretAccessKey,
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    });
    assert.match(denied.stderr, /AuthorizationError/);
    assert.match(denied.stderr, /sns:CreateTopic/);
    const records = await aws([
      "cloudtrail",
      "lookup-events",
      "--lookup-attributes",
      "AttributeKey=EventSource,AttributeValue=sns.amazonaws.com",
    ]);
    const names = (JSON.parse(records.stdout) as { Events: Array<{ EventName: string }> }).Events.map(
      (e) => e.EventName,
    );
    for (const name of ["CreateTopic", "SetTopicAttributes", "Subscribe", "ConfirmSubscription", "Unsubscribe"]) {
      assert.ok(names.includes(name), `${name} is on record`);
    }
  });

  it("tells SNS from IAM on POST / by the SigV4 scope, and refuses in the right XML", async () => {
    const form = (action: string) => ({
      headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
      body: `Action=${action}&Version=${action === "ListUsers" ? "2010-05-08" : "2010-03-31"}`,
      accessKeyId: TEST_ACCESS_KEY_ID,
      secretAccessKey: TEST_SECRET_ACCESS_KEY,
    });
    const sns = 'xmlns="http://sns.amazonaws.com/doc/2010-03-31/"';
    const iam = 'xmlns="https://iam.amazonaws.com/doc/2010-05-08/"';
    const listTopics = await sendRaw(server.url, { ...form("ListTopics"), service: "sns" });
    assert.equal(listTopics.status, 200);
    assert.ok(listTopics.text.startsWith(`<ListTopicsResponse ${sns}>`), listTopics.text);
    const iamAction = await sendRaw(server.url, { ...form("ListUsers"), service: "sns" });
    assert.equal(iamAction.status, 400);
    assert.ok(iamAction.text.startsWith(`<ErrorResponse ${sns}><Error><Type>Sender</Type><Code>InvalidAction</Code>`));
    const listUsers = await sendRaw(server.url, { ...form("ListUsers"), service: "iam" });
    assert.equal(listUsers.status, 200);
    assert.ok(listUsers.text.startsWith(`<ListUsersResponse ${iam}>`), listUsers.text);
    const forged = await sendRaw(server.url, {
      ...form("ListTopics"),
      service: "sns",
      secretAccessKey: "not-the-secret",
    });
    assert.equal(forged.status, 403);
    assert.ok(
      forged.text.startsWith(`<ErrorResponse ${sns}><Error><Type>Sender</Type><Code>InvalidSignatureException</Code>`),
      forged.text,
    );
    const gap = await sendRaw(server.url, {
      ...form("CreateTopic"),
      service: "sns",
      body: "Action=CreateTopic&Version=2010-03-31&Name=gap&Attributes.entry.2.key=DisplayName&Attributes.entry.2.value=x",
    });
    assert.equal(gap.status, 400, "a map entry out of its numbering is refused, not dropped");
    assert.match(gap.text, /<Code>InvalidParameter<\/Code>/);
    const unsigned = await sendRaw(server.url, { ...form("ListTopics"), unsigned: true });
    assert.equal(unsigned.status, 403);
    assert.match(unsigned.text, /<Code>MissingAuthenticationTokenException<\/Code>/);
  });

  it(
    "pages ListTopics 100 at a time for boto3, and answers SNS's error codes",
    { skip: !hasBoto3 && "boto3 missing" },
    () => {
      const out = boto3(
        server.url,
        [
          "for i in range(105): sns.create_topic(Name='page-%03d' % i)",
          "first = sns.list_topics()",
          "second = sns.list_topics(NextToken=first['NextToken'])",
          "every = [t['TopicArn'] for p in sns.get_paginator('list_topics').paginate() for t in p['Topics']]",
          "errors = {",
          "  'missing': code(lambda: sns.get_topic_attributes(TopicArn='arn:aws:sns:us-east-1:111122223333:nope')),",
          "  'badName': code(lambda: sns.create_topic(Name='no spaces')),",
          "  'badToken': code(lambda: sns.list_topics(NextToken='bm90LWFuLWFybg')),",
          "  'protocol': code(lambda: sns.subscribe(TopicArn='arn:aws:sns:us-east-1:111122223333:page-000', Protocol='email', Endpoint='a@example.com')),",
          "  'endpoint': code(lambda: sns.subscribe(TopicArn='arn:aws:sns:us-east-1:111122223333:page-000', Protocol='https', Endpoint='http://127.0.0.1/x')),",
          "  'attribute': code(lambda: sns.set_topic_attributes(TopicArn='arn:aws:sns:us-east-1:111122223333:page-000', AttributeName='KmsMasterKeyId', AttributeValue='x')),",
          "}",
          "sns.delete_topic(TopicArn='arn:aws:sns:us-east-1:111122223333:page-000')",
          "after = code(lambda: sns.get_topic_attributes(TopicArn='arn:aws:sns:us-east-1:111122223333:page-000'))",
          "print(json.dumps({'first': len(first['Topics']), 'second': len(second['Topics']), 'more': 'NextToken' in second,",
          "  'every': every, 'errors': errors, 'after': after}))",
        ].join("\n"),
      ) as {
        first: number;
        second: number;
        more: boolean;
        every: string[];
        errors: Record<string, unknown>;
        after: unknown;
      };
      assert.equal(out.first, 100);
      assert.equal(out.second, 6, "105 pages plus cairn-alerts");
      assert.equal(out.more, false);
      assert.equal(new Set(out.every).size, 106);
      assert.deepEqual(out.errors, {
        missing: ["NotFound", 404],
        badName: ["InvalidParameter", 400],
        badToken: ["InvalidParameter", 400],
        protocol: ["InvalidParameter", 400],
        endpoint: ["InvalidParameter", 400],
        attribute: ["InvalidParameter", 400],
      });
      assert.deepEqual(out.after, ["NotFound", 404]);
    },
  );
});
