import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifyRecord, deriveUsername, lookupEventFromRecord } from "../../src/consumers/event-history/derive.js";
import { deriveResources } from "../../src/consumers/event-history/derive-resources.js";
import type { CloudTrailRecord, UserIdentity } from "../../src/model/record.js";

function record(overrides: Partial<CloudTrailRecord>): CloudTrailRecord {
  return {
    eventVersion: "1.11",
    eventTime: "2024-05-31T10:00:00Z",
    eventSource: "iam.amazonaws.com",
    eventName: "ListUsers",
    awsRegion: "us-east-1",
    requestParameters: null,
    responseElements: null,
    eventID: "e-1",
    eventType: "AwsApiCall",
    eventCategory: "Management",
    ...overrides,
  };
}

describe("deriveUsername (spec §4.2)", () => {
  const cases: Array<[string, UserIdentity | undefined, string | undefined]> = [
    ["IAMUser → userName", { type: "IAMUser", userName: "Alice", arn: "arn:aws:iam::1:user/Bob" }, "Alice"],
    ["IAMUser without userName → ARN name", { type: "IAMUser", arn: "arn:aws:iam::1:user/path/Bob" }, "Bob"],
    ["Root → root", { type: "Root", arn: "arn:aws:iam::1:root", userName: "my-alias" }, "root"],
    [
      "AssumedRole → session name",
      { type: "AssumedRole", arn: "arn:aws:sts::1:assumed-role/RoleToBeAssumed/MySessionName" },
      "MySessionName",
    ],
    ["AssumedRole without ARN → principalId session", { type: "AssumedRole", principalId: "AROAX:sess" }, "sess"],
    ["FederatedUser → federated name", { type: "FederatedUser", arn: "arn:aws:sts::1:federated-user/Bob" }, "Bob"],
    ["AWSService → invokedBy", { type: "AWSService", invokedBy: "ec2.amazonaws.com" }, "ec2.amazonaws.com"],
    [
      "IdentityCenterUser → onBehalfOf.userId",
      { type: "IdentityCenterUser", onBehalfOf: { userId: "5448-uid", identityStoreArn: "arn:x" } },
      "5448-uid",
    ],
    ["WebIdentityUser → userName", { type: "WebIdentityUser", userName: "user-id" }, "user-id"],
    ["Unknown without userName → absent", { type: "Unknown" }, undefined],
    ["no type, invokedBy only → absent", { accountId: "1", invokedBy: "AWS Internal" }, undefined],
    ["empty userName → absent", { type: "AWSAccount", userName: "" }, undefined],
    ["no identity → absent", undefined, undefined],
  ];
  for (const [name, identity, expected] of cases) {
    it(name, () => assert.equal(deriveUsername(identity), expected));
  }
});

describe("deriveResources", () => {
  // ResourceName is the name or id (spec §4.2: `i-1234567`, not necessarily an ARN); the ARN still
  // finds the event (derive-resources.test.ts). An untyped ARN gets its type from the ARN.
  it("maps resources[] to type and name, ARNPrefix when no ARN, and drops duplicates", () => {
    const resources = deriveResources(
      record({
        resources: [
          { type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::b" },
          { ARN: "arn:aws:ec2:us-east-1:1:instance/i-1" },
          { type: "AWS::S3::Object", ARNPrefix: "arn:aws:s3:::b/logs/" },
          { type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::b" },
        ],
      }),
    );
    assert.deepEqual(resources, [
      { ResourceType: "AWS::S3::Bucket", ResourceName: "b" },
      { ResourceType: "AWS::EC2::Instance", ResourceName: "i-1" },
      { ResourceType: "AWS::S3::Object", ResourceName: "arn:aws:s3:::b/logs/" },
    ]);
  });

  const trailCases: Array<
    [string, Record<string, unknown> | null, string, Array<{ ResourceType: string; ResourceName: string }>]
  > = [
    [
      "CreateTrail name",
      { name: "t1", s3BucketName: "b" },
      "cloudtrail.amazonaws.com",
      [{ ResourceType: "AWS::CloudTrail::Trail", ResourceName: "t1" }],
    ],
    [
      "PutEventSelectors trailName",
      { trailName: "t2" },
      "cloudtrail.amazonaws.com",
      [{ ResourceType: "AWS::CloudTrail::Trail", ResourceName: "t2" }],
    ],
    ["no trail parameter", { maxResults: 5 }, "cloudtrail.amazonaws.com", []],
    ["null parameters", null, "cloudtrail.amazonaws.com", []],
    ["other service's name parameter", { name: "x" }, "ssm.amazonaws.com", []],
  ];
  for (const [name, requestParameters, eventSource, expected] of trailCases) {
    it(`CloudTrail's own API: ${name}`, () =>
      assert.deepEqual(deriveResources(record({ requestParameters, eventSource })), expected));
  }
});

describe("classifyRecord", () => {
  const cases: Array<[string, Partial<CloudTrailRecord>, string | undefined]> = [
    ["management", {}, "management"],
    ["managementEvent false", { managementEvent: false }, undefined],
    ["data event", { eventCategory: "Data", managementEvent: false }, undefined],
    ["network activity", { eventCategory: "NetworkActivity", eventType: "AwsVpceEvent" }, undefined],
    ["insight", { eventCategory: "Insight", eventType: "AwsCloudTrailInsight" }, "insight"],
    [
      "insight on data events (ListInsightsData's view)",
      { eventCategory: "Insight", eventType: "AwsCloudTrailInsight", insightDetails: { eventCategory: "Data" } },
      "dataInsight",
    ],
  ];
  for (const [name, overrides, expected] of cases) {
    it(name, () => assert.equal(classifyRecord(record(overrides)), expected));
  }
});

describe("lookupEventFromRecord", () => {
  it("derives every field and serves the stored json unchanged", () => {
    const source = record({
      eventTime: "2024-05-31T10:00:07Z",
      readOnly: true,
      userIdentity: { type: "IAMUser", userName: "Alice", accessKeyId: "AKIAEXAMPLE" },
    });
    const json = JSON.stringify(source);
    assert.deepEqual(lookupEventFromRecord(json, source), {
      EventId: "e-1",
      EventName: "ListUsers",
      ReadOnly: "true",
      AccessKeyId: "AKIAEXAMPLE",
      EventTime: Date.UTC(2024, 4, 31, 10, 0, 7) / 1000,
      EventSource: "iam.amazonaws.com",
      Username: "Alice",
      Resources: [],
      CloudTrailEvent: json,
    });
  });

  it("omits an empty AccessKeyId and an absent readOnly", () => {
    const source = record({ userIdentity: { type: "Root", accessKeyId: "" } });
    const event = lookupEventFromRecord("{}", source);
    assert.equal("AccessKeyId" in event, false);
    assert.equal("ReadOnly" in event, false);
    assert.equal(event.Username, "root");
  });

  it("takes an Insights event's name and source from insightDetails", () => {
    const source = record({
      eventType: "AwsCloudTrailInsight",
      eventCategory: "Insight",
      eventName: undefined as unknown as string,
      eventSource: undefined as unknown as string,
      insightDetails: { eventName: "PutObject", eventSource: "s3.amazonaws.com", state: "Start" },
    });
    const event = lookupEventFromRecord("{}", source);
    assert.equal(event.EventName, "PutObject");
    assert.equal(event.EventSource, "s3.amazonaws.com");
    assert.deepEqual(event.Resources, []);
  });
});
