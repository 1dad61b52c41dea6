import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cloudTrailEnvelopeOf, compileEventPattern, patternMatches } from "../../src/event-patterns/index.js";
import type { CloudTrailRecord } from "../../src/model/record.js";
import { seedExample, seedExampleFiles, seedExamplesMissingReason } from "../helpers/sample-records.js";

const skip = seedExamplesMissingReason();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The `source` each seed example's envelope must carry (aws.<service> of its event source). */
const SOURCES: Readonly<Record<string, string>> = {
  "aurora-CreateDBInstance.json": "aws.rds",
  "ec2-ebs-SendSSHPublicKey.json": "aws.ec2-instance-connect",
  "ec2-ebs-TerminateInstances.json": "aws.ec2",
  "elasticache-CreateCacheCluster.json": "aws.elasticache",
  "elasticache-DescribeCacheClusters.json": "aws.elasticache",
  "elasticache-ModifyCacheCluster.json": "aws.elasticache",
  "systems-manager-CreateControlChannel.json": "aws.ssm",
  "systems-manager-DeleteDocument.json": "aws.ssm",
  "systems-manager-RequestManagedInstanceRoleToken.json": "aws.ssm",
  "systems-manager-StartConnection.json": "aws.ssm-guiconnect",
};

function seed(file: string): CloudTrailRecord {
  return seedExample(file) as unknown as CloudTrailRecord;
}

describe("the EventBridge envelope of CloudTrail records (spec §9.1)", { skip }, () => {
  it("covers every seed example", () => {
    assert.deepEqual(seedExampleFiles(), Object.keys(SOURCES).sort());
  });

  for (const [file, source] of Object.entries(SOURCES)) {
    it(`${file}: version, id, detail-type, source, account, time, region, resources, detail`, () => {
      const record = seed(file);
      const envelope = cloudTrailEnvelopeOf(record);
      assert.ok(envelope !== undefined);
      assert.equal(envelope.version, "0");
      assert.match(envelope.id, UUID);
      assert.equal(envelope["detail-type"], "AWS API Call via CloudTrail");
      assert.equal(envelope.source, source);
      assert.equal(envelope.account, record.recipientAccountId ?? record.userIdentity?.accountId);
      assert.equal(envelope.time, record.eventTime);
      assert.equal(envelope.region, record.awsRegion);
      assert.deepEqual(envelope.resources, []);
      assert.deepEqual(envelope.detail, record);
      assert.deepEqual(Object.keys(envelope), [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
      ]);
    });
  }

  it("takes the account from recipientAccountId before the caller's (SendSSHPublicKey's differ)", () => {
    const record = seed("ec2-ebs-SendSSHPublicKey.json");
    assert.notEqual(record.recipientAccountId, record.userIdentity?.accountId);
    assert.equal(cloudTrailEnvelopeOf(record)?.account, record.recipientAccountId);
  });

  it("gives one record the same id every time and two records different ids", () => {
    const terminate = seed("ec2-ebs-TerminateInstances.json");
    assert.equal(cloudTrailEnvelopeOf(terminate)?.id, cloudTrailEnvelopeOf(structuredClone(terminate))?.id);
    assert.notEqual(
      cloudTrailEnvelopeOf(terminate)?.id,
      cloudTrailEnvelopeOf(seed("aurora-CreateDBInstance.json"))?.id,
    );
  });

  it("leaves eventContext out of detail and the record untouched", () => {
    const record = { ...seed("systems-manager-DeleteDocument.json"), eventContext: { requestContext: {} } };
    const envelope = cloudTrailEnvelopeOf(record);
    assert.equal(Object.hasOwn(envelope?.detail ?? {}, "eventContext"), false);
    assert.ok(Object.hasOwn(record, "eventContext"));
  });

  it("is matched by the issue's trail-tampering pattern shape", () => {
    const pattern = compileEventPattern(
      JSON.stringify({
        source: ["aws.ec2"],
        "detail-type": ["AWS API Call via CloudTrail"],
        detail: { eventName: ["TerminateInstances"], userIdentity: { type: ["Root"] } },
      }),
    );
    assert.equal(patternMatches(pattern, cloudTrailEnvelopeOf(seed("ec2-ebs-TerminateInstances.json"))), true);
    assert.equal(patternMatches(pattern, cloudTrailEnvelopeOf(seed("aurora-CreateDBInstance.json"))), false);
  });
});

describe("detail-type per eventType", () => {
  const base = { eventVersion: "1.08", eventTime: "2024-01-01T00:00:00Z", eventID: "e", awsRegion: "us-east-1" };
  const cases: ReadonlyArray<readonly [Record<string, unknown>, string | undefined, string | undefined]> = [
    [{ eventType: "AwsApiCall", eventSource: "s3.amazonaws.com" }, "AWS API Call via CloudTrail", "aws.s3"],
    [
      { eventType: "AwsConsoleSignIn", eventSource: "signin.amazonaws.com" },
      "AWS Console Signin via CloudTrail",
      "aws.signin",
    ],
    [{ eventType: "AwsConsoleAction", eventSource: "s3.amazonaws.com" }, "AWS Console Action via CloudTrail", "aws.s3"],
    [{ eventType: "AwsServiceEvent", eventSource: "kms.amazonaws.com" }, "AWS Service Event via CloudTrail", "aws.kms"],
    [{ eventType: "AwsCloudTrailInsight" }, "AWS Insight via CloudTrail", "aws.cloudtrail"],
    [{ eventType: "AwsVpceEvent", eventSource: "s3.amazonaws.com" }, undefined, undefined],
  ];
  for (const [fields, detailType, source] of cases) {
    it(`${String(fields["eventType"])} → ${detailType ?? "not sent"}`, () => {
      const envelope = cloudTrailEnvelopeOf({ ...base, ...fields } as unknown as CloudTrailRecord);
      assert.equal(envelope?.["detail-type"], detailType);
      assert.equal(envelope?.source, source);
    });
  }
});
