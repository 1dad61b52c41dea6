import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { runAws, runCommand } from "./aws-cli.js";
import type { HttpReceiver, ReceivedRequest } from "./http-receiver.js";
import { pollUntil } from "./poll.js";
import { recentRecords, type RawRecord } from "./sample-records.js";
import {
  CLI,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "./server-process.js";
import { ingestCall, sendRaw } from "./signed-request.js";

/**
 * What `cairn migrate --to-cluster` must carry over of SNS and EventBridge, set up through a running
 * server with the real AWS CLI: a topic with a confirmed HTTP subscription, an API_KEY connection,
 * two API destinations on one receiver, a rule whose event the receiver refuses with 503 (so its
 * delivery stays queued) and one it refuses with 403 (so a failure is kept).
 */

export const MIGRATED_API_KEY = "migrated-api-key-5b0e17c2";
const TOPIC = "migrated-alerts";
const QUEUED_RULE = "migrated-queued";
export const FORBIDDEN_RULE = "migrated-forbidden";
const WAIT = { timeoutMs: 60_000, intervalMs: 250 };

/** The AWS CLI against `server`, with the credentials file its data dir holds; the answer's JSON. */
async function awsOn(server: ServerProcess, args: string[]): Promise<Record<string, unknown>> {
  const result = await runAws(server.dataDir, [...args, "--endpoint-url", server.url, "--region", "us-east-1"]);
  assert.equal(result.code, 0, `${args.slice(0, 2).join(" ")}: ${result.stderr}`);
  return result.stdout.trim() === "" ? {} : (JSON.parse(result.stdout) as Record<string, unknown>);
}

/** `cairn events failures --rule <rule> --json` against `server`, as the admin. */
export async function eventFailures(server: ServerProcess, rule: string): Promise<Array<Record<string, unknown>>> {
  const args = ["events", "failures", "--rule", rule, "--json", "--endpoint-url", server.url, "--region", "us-east-1"];
  const result = await runCommand(process.execPath, [CLI, ...args], {
    PATH: process.env["PATH"] ?? "",
    HOME: process.env["HOME"] ?? "/tmp",
    AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
  });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
}

/** A CloudTrail management call of `eventName` in the test account, new. */
function call(eventName: string): RawRecord {
  const [base] = recentRecords(1, { accountId: TEST_ACCOUNT_ID, spreadMs: 0 });
  return {
    ...base,
    ...{ eventSource: "cloudtrail.amazonaws.com", eventName, readOnly: false, eventType: "AwsApiCall" },
    ...{ managementEvent: true, eventCategory: "Management", eventID: randomUUID() },
  };
}

/** Sends `call(eventName)` to `server`'s /ingest; resolves its eventID. */
export async function ingestCallNamed(server: ServerProcess, eventName: string): Promise<string> {
  const record = call(eventName);
  const credentials = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
  const response = await sendRaw(server.url, ingestCall([record], credentials));
  assert.equal(response.status, 200, response.text);
  return String(record["eventID"]);
}

export function requestsTo(receiver: HttpReceiver, path: string): ReceivedRequest[] {
  return receiver.requests.filter((request) => request.url === path);
}

/**
 * Sets it all up on `server` (the receiver must answer 503 on /queued, 403 on /forbidden, 200
 * elsewhere) and waits until the queued event was refused once and the other kept as a failure.
 * Resolves the eventID of the record whose delivery stays queued.
 */
export async function setUpEventStores(server: ServerProcess, receiver: HttpReceiver): Promise<string> {
  const topicArn = String((await awsOn(server, ["sns", "create-topic", "--name", TOPIC]))["TopicArn"]);
  await awsOn(server, [
    ...["sns", "set-topic-attributes", "--topic-arn", topicArn, "--attribute-name", "DisplayName"],
    ...["--attribute-value", "Migrated alerts"],
  ]);
  const endpoint = `${receiver.url}/sns`;
  await awsOn(server, [
    ...["sns", "subscribe", "--topic-arn", topicArn, "--protocol", "http"],
    ...["--notification-endpoint", endpoint],
  ]);
  const [confirmation] = await pollUntil(
    () => requestsTo(receiver, "/sns").length > 0 && requestsTo(receiver, "/sns"),
    {
      ...WAIT,
      message: "the SubscriptionConfirmation",
    },
  );
  const { Token: token } = JSON.parse(confirmation!.body) as { Token: string };
  await awsOn(server, ["sns", "confirm-subscription", "--topic-arn", topicArn, "--token", token]);

  const connection = await awsOn(server, [
    ...["events", "create-connection", "--name", "migrated-hooks", "--authorization-type", "API_KEY"],
    "--auth-parameters",
    JSON.stringify({ ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: MIGRATED_API_KEY } }),
  ]);
  for (const [rule, path] of [
    [QUEUED_RULE, "/queued"],
    [FORBIDDEN_RULE, "/forbidden"],
  ] as const) {
    // --cli-input-json: AWS CLI v1 would fetch an http:// parameter value as a URL parameter file.
    const input = {
      Name: `${rule}-destination`,
      ConnectionArn: connection["ConnectionArn"],
      InvocationEndpoint: `${receiver.url}${path}`,
      HttpMethod: "POST",
    };
    const destination = await awsOn(server, [
      "events",
      "create-api-destination",
      "--cli-input-json",
      JSON.stringify(input),
    ]);
    const pattern = { detail: { eventName: [`Migrated${rule}`] } };
    await awsOn(server, ["events", "put-rule", "--name", rule, "--event-pattern", JSON.stringify(pattern)]);
    await awsOn(server, [
      ...["events", "put-targets", "--rule", rule, "--targets"],
      JSON.stringify([{ Id: "receiver", Arn: destination["ApiDestinationArn"] }]),
    ]);
  }
  const queued = await ingestCallNamed(server, `Migrated${QUEUED_RULE}`);
  await ingestCallNamed(server, `Migrated${FORBIDDEN_RULE}`);
  await pollUntil(async () => (await eventFailures(server, FORBIDDEN_RULE)).length === 1, {
    ...WAIT,
    message: "the 403 kept as a failure",
  });
  await pollUntil(() => requestsTo(receiver, "/queued").length > 0, { ...WAIT, message: "a first (503) attempt" });
  return queued;
}

/** What the AWS CLI and `cairn events failures` show of SNS and EventBridge on `server`. */
export async function eventStoreViews(server: ServerProcess): Promise<Record<string, unknown>> {
  const topics = (await awsOn(server, ["sns", "list-topics"]))["Topics"] as Array<{ TopicArn: string }>;
  const subscriptions = [];
  for (const { TopicArn } of topics)
    subscriptions.push(await awsOn(server, ["sns", "list-subscriptions-by-topic", "--topic-arn", TopicArn]));
  const attributes = [];
  for (const { TopicArn } of topics)
    attributes.push(await awsOn(server, ["sns", "get-topic-attributes", "--topic-arn", TopicArn]));
  const rules = await awsOn(server, ["events", "list-rules"]);
  const targets = [];
  for (const rule of [QUEUED_RULE, FORBIDDEN_RULE])
    targets.push(await awsOn(server, ["events", "list-targets-by-rule", "--rule", rule]));
  return {
    ...{ topics, subscriptions, attributes, rules, targets },
    connection: await awsOn(server, ["events", "describe-connection", "--name", "migrated-hooks"]),
    destinations: await awsOn(server, ["events", "list-api-destinations"]),
    failures: await eventFailures(server, FORBIDDEN_RULE),
  };
}
