import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resourcesOf, type ResourceContext } from "../../src/capture/protocols/classify.js";
import { invictusRecords, samplesMissingReason, type RawRecord } from "../helpers/sample-records.js";

const ACCOUNT = "123456789012";
const REGION = "us-east-2";

function context(overrides: Partial<ResourceContext>): ResourceContext {
  return {
    eventSource: "ec2.amazonaws.com",
    eventName: "RunInstances",
    region: REGION,
    accountId: ACCOUNT,
    requestParameters: null,
    responseElements: null,
    ...overrides,
  };
}

describe("resourcesOf: the `resources` member CloudTrail writes for management events", () => {
  const none: Array<[string, Partial<ResourceContext>]> = [
    [
      "EC2 TerminateInstances (seed example)",
      { requestParameters: { instancesSet: { items: [{ instanceId: "i-1" }] } } },
    ],
    [
      "RDS CreateDBInstance (seed example)",
      {
        eventSource: "rds.amazonaws.com",
        eventName: "CreateDBInstance",
        requestParameters: { dBInstanceIdentifier: "d" },
      },
    ],
    [
      "ElastiCache CreateCacheCluster (seed example)",
      {
        eventSource: "elasticache.amazonaws.com",
        eventName: "CreateCacheCluster",
        requestParameters: { cacheClusterId: "c" },
      },
    ],
    [
      "IAM CreateUser",
      { eventSource: "iam.amazonaws.com", eventName: "CreateUser", requestParameters: { userName: "u" } },
    ],
    [
      "Lambda CreateFunction",
      {
        eventSource: "lambda.amazonaws.com",
        eventName: "CreateFunction20150331",
        requestParameters: { functionName: "f" },
      },
    ],
    [
      "S3 CreateBucket",
      { eventSource: "s3.amazonaws.com", eventName: "CreateBucket", requestParameters: { bucketName: "b" } },
    ],
    [
      "SSM GetDocument",
      { eventSource: "ssm.amazonaws.com", eventName: "GetDocument", requestParameters: { name: "d" } },
    ],
    [
      "a throttled SSM PutParameter",
      {
        eventSource: "ssm.amazonaws.com",
        eventName: "PutParameter",
        requestParameters: { name: "p" },
        errorCode: "ThrottlingException",
      },
    ],
    [
      "a denied STS AssumeRole",
      {
        eventSource: "sts.amazonaws.com",
        eventName: "AssumeRole",
        requestParameters: { roleArn: `arn:aws:iam::${ACCOUNT}:role/r` },
        errorCode: "AccessDenied",
      },
    ],
  ];
  for (const [name, overrides] of none) {
    it(`none for ${name}`, () => assert.deepEqual(resourcesOf(context(overrides)), []));
  }

  it("SSM DeleteDocument: the document's ARN, untyped (seed example)", () => {
    const resources = resourcesOf(
      context({
        eventSource: "ssm.amazonaws.com",
        eventName: "DeleteDocument",
        requestParameters: { name: "example-Document" },
      }),
    );
    assert.deepEqual(resources, [
      { accountId: ACCOUNT, ARN: `arn:aws:ssm:${REGION}:${ACCOUNT}:document/example-Document` },
    ]);
  });

  it("SSM GetParameters: one untyped ARN per name, without the leading slash", () => {
    const resources = resourcesOf(
      context({
        eventSource: "ssm.amazonaws.com",
        eventName: "GetParameters",
        requestParameters: { names: ["/a/b", "c"] },
      }),
    );
    assert.deepEqual(resources, [
      { accountId: ACCOUNT, ARN: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/a/b` },
      { accountId: ACCOUNT, ARN: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/c` },
    ]);
  });

  it("STS AssumeRole: the role, owned by the role's account", () => {
    const roleArn = "arn:aws:iam::999988887777:role/r";
    const resources = resourcesOf(
      context({ eventSource: "sts.amazonaws.com", eventName: "AssumeRole", requestParameters: { roleArn } }),
    );
    assert.deepEqual(resources, [{ accountId: "999988887777", type: "AWS::IAM::Role", ARN: roleArn }]);
  });

  it("KMS Encrypt by alias: the key ARN the response names", () => {
    const keyArn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0e5d0ab6-097e-49d8-99ef-747ce3e5f8f4`;
    const resources = resourcesOf(
      context({
        eventSource: "kms.amazonaws.com",
        eventName: "Encrypt",
        requestParameters: { keyId: "alias/aws/ssm" },
        responseElements: { keyId: keyArn },
      }),
    );
    assert.deepEqual(resources, [{ accountId: ACCOUNT, type: "AWS::KMS::Key", ARN: keyArn }]);
  });
});

/** A real management record's `resources` and what resourcesOf says from the same members. */
function comparable(record: RawRecord): [expected: unknown, actual: unknown] {
  const identity = record["userIdentity"] as { accountId?: string } | undefined;
  const actual = resourcesOf({
    eventSource: record["eventSource"] as string,
    eventName: record["eventName"] as string,
    region: record["awsRegion"] as string,
    accountId: (record["recipientAccountId"] as string | undefined) ?? identity?.accountId ?? "",
    requestParameters: (record["requestParameters"] as Record<string, unknown> | null) ?? null,
    responseElements: (record["responseElements"] as Record<string, unknown> | null) ?? null,
    ...(typeof record["errorCode"] === "string" ? { errorCode: record["errorCode"] } : {}),
  });
  return [record["resources"] ?? [], actual];
}

describe("resourcesOf agrees with real records (invictus-sigma-aws)", { skip: samplesMissingReason() }, () => {
  // KMS is left out: real Decrypt/Encrypt records log responseElements null, so the key ARN the proxy
  // reads from the live response is not in them to compare with.
  const SOURCES = ["ec2", "rds", "elasticache", "iam", "lambda", "secretsmanager", "s3", "sts", "ssm", "cloudtrail"];
  it(`present exactly where CloudTrail writes it, in its form: ${SOURCES.join(", ")}`, () => {
    const records = invictusRecords().filter(
      (r) =>
        r["managementEvent"] !== false &&
        r["eventCategory"] !== "Data" &&
        SOURCES.some((s) => r["eventSource"] === `${s}.amazonaws.com`),
    );
    assert.ok(records.length > 1000, `${records.length} records`);
    let withResources = 0;
    for (const record of records) {
      const [expected, actual] = comparable(record);
      assert.deepEqual(actual, expected, `${String(record["eventSource"])} ${String(record["eventName"])}`);
      if ((expected as unknown[]).length > 0) withResources++;
    }
    assert.ok(withResources > 100, `${withResources} records with resources compared`);
  });
});
