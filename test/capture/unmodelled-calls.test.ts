import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ServiceModels } from "../../src/capture/protocols/service-models.js";
import { eventNameOf } from "../../src/capture/protocols/event-name.js";
import { dataEventResources, isDataEventCall } from "../../src/capture/protocols/data-events.js";
import { describeUnmodelledCall } from "../../src/capture/protocols/unmodelled.js";
import { recordOfCall, type ObservedCall } from "../../src/capture/proxy/record-of-call.js";
import { DATA_EVENT_APIS } from "../../src/normalize/data-event-apis.js";
import { normalizeIngestedRecord } from "../../src/normalize/pipeline.js";

/**
 * Calls no bundled model knows are recorded all the same (Cairn issue #12), and data events are
 * classified from one table: the seeds' Systems Manager examples (CreateControlChannel,
 * RequestManagedInstanceRoleToken) and the data-event resource types of spec §6.
 */
const models = new ServiceModels();
const ACCOUNT = "123456789012";
const SIGV4 =
  "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/SERVICE/aws4_request, SignedHeaders=host, Signature=00";

interface CallSpec {
  service: string;
  method?: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  status?: number;
  responseHeaders?: Record<string, string>;
  responseBody?: string;
}

function observed(spec: CallSpec): ObservedCall {
  const question = spec.url.indexOf("?");
  const body = spec.body === undefined ? undefined : Buffer.from(spec.body);
  const responseBody = Buffer.from(spec.responseBody ?? "");
  return {
    scope: { accessKeyId: "AKIAEXAMPLE", region: "us-east-1", service: spec.service },
    request: {
      method: spec.method ?? "POST",
      path: question === -1 ? spec.url : spec.url.slice(0, question),
      rawQuery: question === -1 ? "" : spec.url.slice(question + 1),
      headers: { authorization: SIGV4.replace("SERVICE", spec.service), ...spec.headers },
      body,
      bodyBytes: body?.length ?? 0,
    },
    response: {
      status: spec.status ?? 200,
      headers: spec.responseHeaders ?? {},
      body: responseBody,
      bodyBytes: responseBody.length,
    },
    sourceIPAddress: "127.0.0.1",
    completedAtMs: Date.UTC(2026, 0, 1),
  };
}

function record(spec: CallSpec, noted: string[] = []): Record<string, unknown> {
  const context = {
    models,
    defaultAccountId: ACCOUNT,
    onUnmodelled: (source: string, name: string) => noted.push(`${source} ${name}`),
  };
  const json = recordOfCall(context, observed(spec));
  assert.ok(json, `no record for ${spec.url}`);
  return JSON.parse(json) as Record<string, unknown>;
}

const CHANNEL = "44295c1f-49d2-48b6-b218-96823e0a1b2c";

describe("calls no service model knows are recorded", () => {
  it("ssmmessages CreateControlChannel: the seed's eventSource, name, category, resources and channelId", () => {
    const noted: string[] = [];
    const event = record(
      {
        service: "ssmmessages",
        url: `/v1/control-channel/${CHANNEL}`,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ MessageSchemaVersion: "1.0", RequestId: "54993150-0e8f-4142-aa54-3438e0a1b2c3" }),
        responseHeaders: { "content-type": "application/json" },
        responseBody: JSON.stringify({ MessageSchemaVersion: "1.0", TokenValue: "tok-secret", Url: "wss://x" }),
      },
      noted,
    );
    assert.equal(event["eventSource"], "ssm.amazonaws.com");
    assert.equal(event["eventName"], "CreateControlChannel");
    assert.equal(event["eventCategory"], "Data");
    assert.equal(event["managementEvent"], false);
    assert.equal(event["readOnly"], false);
    assert.deepEqual(event["requestParameters"], {
      channelId: CHANNEL,
      messageSchemaVersion: "1.0",
      requestId: "54993150-0e8f-4142-aa54-3438e0a1b2c3",
    });
    assert.deepEqual(event["resources"], [
      {
        accountId: ACCOUNT,
        type: "AWS::SSMMessages::ControlChannel",
        ARN: `arn:aws:ssmmessages:us-east-1:${ACCOUNT}:control-channel/${CHANNEL}`,
      },
    ]);
    assert.deepEqual(noted, ["ssm.amazonaws.com CreateControlChannel"]);
  });

  it("AmazonSSM.RequestManagedInstanceRoleToken: readOnly, a managed-node data event, errors without a model", () => {
    const event = record({
      service: "ssm",
      url: "/",
      headers: {
        "x-amz-target": "AmazonSSM.RequestManagedInstanceRoleToken",
        "content-type": "application/x-amz-json-1.1",
      },
      body: JSON.stringify({ Fingerprint: "i-0123456789abcdef0" }),
      status: 400,
      responseHeaders: { "x-amzn-requestid": "req-1" },
      responseBody: JSON.stringify({ __type: "com.amazonaws.ssm#InvalidAction", message: "no such action" }),
    });
    assert.equal(event["eventSource"], "ssm.amazonaws.com");
    assert.equal(event["eventName"], "RequestManagedInstanceRoleToken");
    assert.equal(event["readOnly"], true);
    assert.equal(event["eventCategory"], "Data");
    assert.equal(event["managementEvent"], false);
    assert.deepEqual(event["requestParameters"], { fingerprint: "i-0123456789abcdef0" });
    assert.equal(event["responseElements"], null);
    assert.equal(event["errorCode"], "InvalidAction");
    assert.equal(event["errorMessage"], "no such action");
    assert.equal(event["requestID"], "req-1");
    assert.deepEqual(event["resources"], [
      {
        accountId: ACCOUNT,
        type: "AWS::SSM::ManagedNode",
        ARN: `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0123456789abcdef0`,
      },
    ]);
  });

  it("an unknown query Action: form parameters without the signing ones, an XML error's Code", () => {
    const event = record({
      service: "sqs",
      url: "/",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "Action=FutureQueueThing&QueueName=q1&Version=2012-11-05&X-Amz-Security-Token=tok",
      status: 400,
      responseBody:
        "<ErrorResponse><Error><Code>InvalidAction</Code><Message>unknown</Message></Error>" +
        "<RequestId>r-9</RequestId></ErrorResponse>",
    });
    assert.equal(event["eventSource"], "sqs.amazonaws.com");
    assert.equal(event["eventName"], "FutureQueueThing");
    assert.equal(event["eventCategory"], "Management");
    assert.deepEqual(event["requestParameters"], { queueName: "q1" });
    assert.equal(event["errorCode"], "InvalidAction");
    assert.equal(event["requestID"], "r-9");
  });

  it("an unknown REST route: method and the path's words, never its ids; an HTML error page by its status", () => {
    const event = record({
      service: "widgets",
      method: "GET",
      url: "/v1/widget-types/AKIAEXAMPLE123/Secret9Token/details?max=5",
      status: 502,
      responseBody: "<html><head><title>Bad gateway</title></head></html>",
    });
    assert.equal(event["eventSource"], "widgets.amazonaws.com");
    assert.equal(event["eventName"], "GetWidgetTypesDetails");
    assert.equal(event["readOnly"], true);
    assert.deepEqual(event["requestParameters"], { max: "5" });
    assert.equal(event["errorCode"], "BadGateway");
    assert.doesNotMatch(JSON.stringify(event), /Secret9Token/);
  });

  it("secrets in an unmodelled body go through the shared redaction", () => {
    const event = record({
      service: "ssm",
      url: "/",
      headers: { "x-amz-target": "AmazonSSM.FutureOperation" },
      body: JSON.stringify({ Name: "n", SecretAccessKey: "wJalrXUtnFEMI" }),
    });
    assert.equal(event["eventName"], "FutureOperation");
    assert.equal(event["eventCategory"], "Management");
    assert.doesNotMatch(JSON.stringify(event), /wJalrXUtnFEMI/);
  });

  it("names: X-Amz-Target, Action, known routes; a scope service that is no AWS name is not named", () => {
    const request = (path: string, method = "POST", headers: Record<string, string> = {}) => ({
      method,
      path,
      rawQuery: "",
      headers,
      body: undefined,
    });
    assert.equal(
      describeUnmodelledCall("ssmmessages", request(`/v1/data-channel/${CHANNEL}`))?.eventName,
      "CreateDataChannel",
    );
    assert.equal(
      describeUnmodelledCall("ssmmessages", request(`/v1/control-channel/${CHANNEL}`, "GET"))?.eventName,
      "OpenControlChannel",
    );
    assert.equal(
      describeUnmodelledCall(
        "ec2messages",
        request("/", "POST", { "x-amz-target": "EC2WindowsMessageDeliveryService.GetMessages" }),
      )?.eventSource,
      "ssm.amazonaws.com",
    );
    assert.equal(
      describeUnmodelledCall("x", request("/", "POST", { "x-amz-target": "P.Bad Name\n" }))?.eventName,
      "Post",
    );
    assert.equal(describeUnmodelledCall("Bad Service", request("/")), undefined);
  });
});

describe("the data-event table", () => {
  const cases: [string, string, string | undefined, boolean][] = [
    ["ssm.amazonaws.com", "CreateControlChannel", "ssmmessages", true],
    ["ssm.amazonaws.com", "RequestManagedInstanceRoleToken", "ssm", true],
    ["ssm.amazonaws.com", "GetMessages", "ec2messages", true],
    ["ssm.amazonaws.com", "SomeFutureChannelCall", "ssmmessages", true],
    ["ssm.amazonaws.com", "DeleteDocument", "ssm", false],
    ["ssm.amazonaws.com", "StartSession", "ssm", false],
    ["s3.amazonaws.com", "GetObject", "s3", true],
    ["s3.amazonaws.com", "ListObjects", "s3", true],
    ["s3.amazonaws.com", "CreateBucket", "s3", false],
    ["lambda.amazonaws.com", "Invoke", "lambda", true],
    ["lambda.amazonaws.com", "CreateFunction20150331", "lambda", false],
    ["dynamodb.amazonaws.com", "PutItem", "dynamodb", true],
    ["dynamodb.amazonaws.com", "CreateTable", "dynamodb", false],
    ["sns.amazonaws.com", "Publish", "sns", true],
    ["sns.amazonaws.com", "PublishBatch", "sns", true],
    ["sns.amazonaws.com", "CreateTopic", "sns", false],
    ["sqs.amazonaws.com", "SendMessage", "sqs", true],
    ["sqs.amazonaws.com", "CreateQueue", "sqs", false],
    ["secretsmanager.amazonaws.com", "GetSecretValue", "secretsmanager", false],
    ["kms.amazonaws.com", "Decrypt", "kms", false],
    ["rds.amazonaws.com", "CreateDBInstance", "rds", false],
  ];
  for (const [source, name, service, data] of cases) {
    it(`${source} ${name} (signed ${service}): ${data ? "Data" : "Management"}`, () => {
      assert.equal(isDataEventCall(source, name, service), data);
    });
  }

  it("every S3 object-level operation of the model (a key in its route) is a data event", () => {
    const s3 = models.candidates("s3")[0]!;
    const keyed = Object.entries(s3.operations).filter(([, op]) => /\{Key\+?\}/.test(op.http?.requestUri ?? ""));
    assert.ok(keyed.length > 20);
    for (const [name, definition] of keyed) {
      const eventName = eventNameOf(s3, { name, ...definition });
      assert.ok(isDataEventCall("s3.amazonaws.com", eventName), `${eventName} is not in the table`);
    }
  });

  it("one entry per eventSource/eventName", () => {
    const seen = new Set<string>();
    for (const entry of DATA_EVENT_APIS) {
      for (const name of entry.eventNames) {
        const key = `${entry.eventSource} ${name}`;
        assert.equal(seen.has(key), false, `${key} twice`);
        seen.add(key);
      }
    }
  });

  it("resources of SNS, SQS and DynamoDB batch data events", () => {
    const base = { region: "us-east-1", accountId: ACCOUNT };
    const topic = `arn:aws:sns:us-east-1:${ACCOUNT}:alerts`;
    assert.deepEqual(
      dataEventResources({
        ...base,
        eventSource: "sns.amazonaws.com",
        eventName: "Publish",
        requestParameters: { topicArn: topic },
      }),
      [{ accountId: ACCOUNT, type: "AWS::SNS::Topic", ARN: topic }],
    );
    assert.deepEqual(
      dataEventResources({
        ...base,
        eventSource: "sqs.amazonaws.com",
        eventName: "SendMessage",
        requestParameters: { queueUrl: "https://sqs.us-east-1.amazonaws.com/210987654321/jobs" },
      }),
      [{ accountId: ACCOUNT, type: "AWS::SQS::Queue", ARN: "arn:aws:sqs:us-east-1:210987654321:jobs" }],
    );
    assert.deepEqual(
      dataEventResources({
        ...base,
        eventSource: "dynamodb.amazonaws.com",
        eventName: "BatchWriteItem",
        requestParameters: { requestItems: { a: [], b: [] } },
      }),
      ["a", "b"].map((table) => ({
        accountId: ACCOUNT,
        type: "AWS::DynamoDB::Table",
        ARN: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${table}`,
      })),
    );
    assert.equal(
      dataEventResources({
        ...base,
        eventSource: "sns.amazonaws.com",
        eventName: "CreateTopic",
        requestParameters: null,
      }),
      undefined,
    );
  });
});

describe("ingest classifies records without eventCategory by the same table", () => {
  const context = { receivedAtMs: Date.UTC(2024, 0, 1), randomUUID: () => "11111111-2222-4333-8444-555555555555" };
  const old = (eventSource: string, eventName: string): Record<string, unknown> => ({
    eventVersion: "1.05",
    eventTime: "2019-03-06T21:22:54Z",
    eventSource,
    eventName,
    awsRegion: "us-east-2",
  });
  const categoryOf = (eventSource: string, eventName: string): unknown => {
    const result = normalizeIngestedRecord(old(eventSource, eventName), context);
    assert.ok(result.ok, result.ok ? "" : result.message);
    return result.record.eventCategory;
  };

  for (const [source, name, category] of [
    ["ssm.amazonaws.com", "CreateControlChannel", "Data"],
    ["ssm.amazonaws.com", "RequestManagedInstanceRoleToken", "Data"],
    ["sns.amazonaws.com", "Publish", "Data"],
    ["s3.amazonaws.com", "PutObject", "Data"],
    ["dynamodb.amazonaws.com", "GetRecords", "Data"],
    ["ssm.amazonaws.com", "DeleteDocument", "Management"],
    ["kms.amazonaws.com", "Decrypt", "Management"],
  ] as const) {
    it(`${source} ${name} → ${category}`, () => assert.equal(categoryOf(source, name), category));
  }
});
