import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
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
import { sendRaw } from "../helpers/signed-request.js";
import { cloudTrailEnvelopeOf } from "../../src/event-patterns/index.js";
import type { CloudTrailRecord } from "../../src/model/record.js";

const skip = awsCliMissingReason();
const hasBoto3 = spawnSync("python3", ["-c", "import boto3"]).status === 0;
if (!hasBoto3)
  process.stderr.write(
    "\n*** SKIPPING the boto3 TestEventPattern tests: python3 -c 'import boto3' fails here. ***\n\n",
  );

/** A CloudTrail record as EventBridge would be sent it: StopLogging on a trail, by an IAM user. */
const stopLogging = {
  eventVersion: "1.08",
  userIdentity: {
    type: "IAMUser",
    principalId: "AIDAEXAMPLE",
    arn: "arn:aws:iam::111122223333:user/mallory",
    accountId: "111122223333",
    userName: "mallory",
  },
  eventTime: "2024-05-01T12:00:00Z",
  eventSource: "cloudtrail.amazonaws.com",
  eventName: "StopLogging",
  awsRegion: "us-east-1",
  sourceIPAddress: "198.51.100.7",
  userAgent: "aws-cli/2.15.0",
  requestParameters: { name: "audit" },
  responseElements: null,
  requestID: "3e1f7a90-0000-4000-8000-000000000001",
  eventID: "3e1f7a90-0000-4000-8000-000000000002",
  readOnly: false,
  eventType: "AwsApiCall",
  managementEvent: true,
  recipientAccountId: "111122223333",
  eventCategory: "Management",
} as unknown as CloudTrailRecord;
const envelope = JSON.stringify(cloudTrailEnvelopeOf(stopLogging));

/** The trail-tampering rule. */
const tampering = JSON.stringify({
  source: ["aws.cloudtrail"],
  "detail-type": ["AWS API Call via CloudTrail"],
  detail: { eventName: ["StopLogging", "DeleteTrail", "PutEventSelectors"] },
});

function boto3(
  url: string,
  body: string,
  credentials = { id: TEST_ACCESS_KEY_ID, secret: TEST_SECRET_ACCESS_KEY },
): unknown {
  const script = [
    "import boto3, json, sys",
    "from botocore.exceptions import ClientError",
    `events = boto3.client('events', endpoint_url='${url}', region_name='us-east-1',`,
    `  aws_access_key_id='${credentials.id}', aws_secret_access_key='${credentials.secret}')`,
    "def attempt(**kwargs):",
    "  try:",
    "    return {'Result': events.test_event_pattern(**kwargs)['Result']}",
    "  except ClientError as e:",
    "    return {'Code': e.response['Error']['Code'], 'Message': e.response['Error']['Message'],",
    "            'Status': e.response['ResponseMetadata']['HTTPStatusCode']}",
    body,
  ].join("\n");
  const run = spawnSync("python3", ["-c", script], { encoding: "utf8", timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as unknown;
}

describe("TestEventPattern on Cairn's endpoint", { skip }, () => {
  let server: ServerProcess;
  let endpoint: string[];
  before(async () => {
    server = await startServerProcess();
    endpoint = ["--endpoint-url", server.url, "--region", "us-east-1", "--output", "json"];
  });
  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("the AWS CLI tests a pattern against a CloudTrail envelope: match and non-match", async () => {
    const match = await runAws(server.dataDir, [
      "events",
      "test-event-pattern",
      "--event-pattern",
      tampering,
      "--event",
      envelope,
      ...endpoint,
    ]);
    assert.equal(match.code, 0, match.stderr);
    assert.deepEqual(JSON.parse(match.stdout), { Result: true });
    const other = tampering.replace("StopLogging", "StartLogging");
    const miss = await runAws(server.dataDir, [
      "events",
      "test-event-pattern",
      "--event-pattern",
      other,
      "--event",
      envelope,
      ...endpoint,
    ]);
    assert.equal(miss.code, 0, miss.stderr);
    assert.deepEqual(JSON.parse(miss.stdout), { Result: false });
  });

  it("the AWS CLI finds the endpoint in the config file the server wrote, without --endpoint-url", async () => {
    const result = await runAws(server.dataDir, [
      "events",
      "test-event-pattern",
      "--event-pattern",
      tampering,
      "--event",
      envelope,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { Result: true });
  });

  it("the AWS CLI is refused an invalid pattern and an event without the envelope fields, as AWS refuses them", async () => {
    const pattern = await runAws(server.dataDir, [
      "events",
      "test-event-pattern",
      "--event-pattern",
      '{"detail": {"c-count": [{"numeric": 10}]}}',
      "--event",
      envelope,
      ...endpoint,
    ]);
    assert.notEqual(pattern.code, 0);
    assert.match(
      pattern.stderr,
      /\(InvalidEventPatternException\) when calling the TestEventPattern operation: Event pattern is not valid\. Reason: Value of numeric must be an array\./,
    );
    const event = await runAws(server.dataDir, [
      "events",
      "test-event-pattern",
      "--event-pattern",
      tampering,
      "--event",
      '{"testEvent": "value"}',
      ...endpoint,
    ]);
    assert.notEqual(event.code, 0);
    assert.match(
      event.stderr,
      /\(ValidationException\) when calling the TestEventPattern operation: Parameter Event is not valid\./,
    );
  });

  it("boto3 gets Result and AWS-shaped errors with their status", { skip: !hasBoto3 }, () => {
    const results = boto3(
      server.url,
      [
        "pattern, event = sys.argv[1], sys.argv[2]",
        "print(json.dumps([",
        "  attempt(EventPattern=pattern, Event=event),",
        "  attempt(EventPattern=json.dumps({'detail': {'sourceIPAddress': [{'cidr': '198.51.100.0/24'}], 'userIdentity': {'type': [{'anything-but': 'Root'}]}}}), Event=event),",
        "  attempt(EventPattern=json.dumps({'detail': {'eventName': [{'wildcard': 'Start*'}]}}), Event=event),",
        "  attempt(EventPattern=json.dumps({'resources': []}), Event=event),",
        "  attempt(EventPattern=pattern, Event='[\"plain string\"]'),",
        "  attempt(EventPattern='x' * 4097, Event=event),",
        "]))",
      ]
        .join("\n")
        .replace("sys.argv[1], sys.argv[2]", `${JSON.stringify(tampering)}, ${JSON.stringify(envelope)}`),
    );
    assert.deepEqual(results, [
      { Result: true },
      { Result: true },
      { Result: false },
      {
        Code: "InvalidEventPatternException",
        Message: "Event pattern is not valid. Reason: Empty arrays are not allowed",
        Status: 400,
      },
      { Code: "ValidationException", Message: "Parameter Event is not valid.", Status: 400 },
      {
        Code: "ValidationException",
        Message:
          "1 validation error detected: Value at 'eventPattern' failed to satisfy constraint: Member must have length less than or equal to 4096",
        Status: 400,
      },
    ]);
  });

  it("authorises events:TestEventPattern through IAM: allowed by AmazonEventBridgeReadOnlyAccess, denied without it", async () => {
    const reader = await addPrincipal(server.dataDir, {
      name: "eb-reader",
      accountId: TEST_ACCOUNT_ID,
      policyArns: ["arn:aws:iam::aws:policy/AmazonEventBridgeReadOnlyAccess"],
    });
    const other = await addPrincipal(server.dataDir, {
      name: "ct-reader",
      accountId: TEST_ACCOUNT_ID,
      policyArns: ["arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess"],
    });
    const as = (key: { accessKeyId: string; secretAccessKey: string }) => ({
      AWS_ACCESS_KEY_ID: key.accessKeyId,
      AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
    });
    const args = ["events", "test-event-pattern", "--event-pattern", tampering, "--event", envelope, ...endpoint];
    const allowed = await runAws(server.dataDir, args, as(reader));
    assert.equal(allowed.code, 0, `${allowed.stderr} ${allowed.stdout}`);
    const denied = await runAws(server.dataDir, args, as(other));
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /\(AccessDeniedException\).*not authorized to perform: events:TestEventPattern/);
  });

  it("answers a call signed for another service with InvalidSignatureException, and an unserved operation as such", async () => {
    const call = {
      accessKeyId: TEST_ACCESS_KEY_ID,
      secretAccessKey: TEST_SECRET_ACCESS_KEY,
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AWSEvents.TestEventPattern" },
      body: JSON.stringify({ EventPattern: tampering, Event: envelope }),
    };
    const wrongScope = await sendRaw(server.url, { ...call, service: "cloudtrail" });
    assert.equal(wrongScope.status, 403);
    assert.equal(wrongScope.json()["__type"], "InvalidSignatureException");
    const signed = await sendRaw(server.url, { ...call, service: "events" });
    assert.equal(signed.status, 200);
    assert.match(String(signed.headers.get("content-type")), /^application\/x-amz-json-1\.1\b/);
    assert.deepEqual(signed.json(), { Result: true });
    const listBuses = await runAws(server.dataDir, ["events", "list-event-buses", ...endpoint]);
    assert.notEqual(listBuses.code, 0);
    assert.match(
      listBuses.stderr,
      /\(UnknownOperationException\) when calling the ListEventBuses operation: Cairn does not implement the EventBridge operation ListEventBuses yet\./,
    );
  });

  it("refuses malformed requests with AWS-shaped errors, never a 500", async () => {
    const send = (body: string, contentType = "application/x-amz-json-1.1") =>
      sendRaw(server.url, {
        accessKeyId: TEST_ACCESS_KEY_ID,
        secretAccessKey: TEST_SECRET_ACCESS_KEY,
        service: "events",
        headers: { "content-type": contentType, "x-amz-target": "AWSEvents.TestEventPattern" },
        body,
      });
    const cases: ReadonlyArray<readonly [Promise<Awaited<ReturnType<typeof send>>>, string, RegExp]> = [
      [send("{not json"), "SerializationException", /not valid JSON/],
      [send("{}", "text/plain"), "SerializationException", /Content-Type/i],
      [send(JSON.stringify({ Event: envelope })), "ValidationException", /Value null at 'eventPattern'/],
      [send(JSON.stringify({ EventPattern: tampering })), "ValidationException", /Value null at 'event'/],
      [send(JSON.stringify({ EventPattern: 5, Event: envelope })), "SerializationException", /EventPattern/],
      [
        send(JSON.stringify({ EventPattern: "{'a'", Event: envelope })),
        "InvalidEventPatternException",
        /^Event pattern is not valid\. Reason: /,
      ],
      [
        send(JSON.stringify({ EventPattern: tampering, Event: "[".repeat(101) + "]".repeat(101) })),
        "ValidationException",
        /^Parameter Event is not valid\.$/,
      ],
    ];
    for (const [answer, code, message] of cases) {
      const response = await answer;
      assert.equal(response.status, 400, response.text);
      assert.equal(response.json()["__type"], code, response.text);
      assert.equal(response.headers.get("x-amzn-errortype"), code);
      assert.match(String(response.json()["message"]), message);
    }
  });

  it("records every call with eventSource events.amazonaws.com, the denied one too", async () => {
    const lookup = await runAws(server.dataDir, [
      "cloudtrail",
      "lookup-events",
      "--lookup-attributes",
      "AttributeKey=EventSource,AttributeValue=events.amazonaws.com",
      ...endpoint,
    ]);
    assert.equal(lookup.code, 0, lookup.stderr);
    const records = (JSON.parse(lookup.stdout) as { Events: Array<{ CloudTrailEvent: string }> }).Events.map(
      (event) => JSON.parse(event.CloudTrailEvent) as Record<string, unknown>,
    );
    const tests = records.filter((record) => record["eventName"] === "TestEventPattern");
    assert.ok(tests.length >= 5, `got ${tests.length}`);
    for (const record of tests) {
      assert.equal(record["eventSource"], "events.amazonaws.com");
      assert.equal(record["readOnly"], true);
      assert.equal(record["eventCategory"], "Management");
    }
    const fromCli = tests.filter((record) => String(record["userAgent"]).includes("aws-cli/"));
    assert.ok(
      fromCli.some(
        (record) => (record["requestParameters"] as { eventPattern?: unknown } | null)?.eventPattern === tampering,
      ),
      "the CLI's pattern is in requestParameters",
    );
    const denied = tests.find((record) => record["errorCode"] === "AccessDenied");
    assert.equal((denied?.["userIdentity"] as { userName?: string } | undefined)?.userName, "ct-reader");
    assert.ok(tests.some((record) => record["errorCode"] === "InvalidEventPatternException"));
    assert.ok(
      records.some(
        (record) => record["eventName"] === "ListEventBuses" && record["errorCode"] === "UnknownOperationException",
      ),
    );
  });
});
