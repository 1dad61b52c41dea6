import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deriveResources } from "../../src/consumers/event-history/derive-resources.js";
import { lookupEventFromRecord } from "../../src/consumers/event-history/derive.js";
import { eventHasAttribute, eventKeys, termKey, type Scope } from "../../src/consumers/event-history/posting-key.js";
import type { CloudTrailRecord } from "../../src/model/record.js";
import { invictusRecords, samplesMissingReason, type RawRecord } from "../helpers/sample-records.js";

const ACCOUNT = "111122223333";
const REGION = "us-west-2";

function record(overrides: Partial<CloudTrailRecord>): CloudTrailRecord {
  return {
    eventVersion: "1.11",
    eventTime: "2024-05-31T10:00:00Z",
    eventSource: "ec2.amazonaws.com",
    eventName: "RunInstances",
    awsRegion: REGION,
    recipientAccountId: ACCOUNT,
    requestParameters: null,
    responseElements: null,
    eventID: "e-1",
    eventType: "AwsApiCall",
    eventCategory: "Management",
    ...overrides,
  };
}

/** Whether a ResourceName lookup for `value` finds the record: by the re-check and by the index. */
function findsByName(source: CloudTrailRecord, value: string): boolean {
  const event = lookupEventFromRecord("{}", source);
  const scope: Scope = { category: "management", accountId: ACCOUNT, region: REGION };
  const indexed = eventKeys(scope, event).includes(termKey(scope, "ResourceName", value));
  assert.equal(eventHasAttribute(event, "ResourceName", value), indexed, `index and re-check agree on ${value}`);
  return indexed;
}

const ec2Arn = (resource: string): string => `arn:aws:ec2:${REGION}:${ACCOUNT}:${resource}`;

describe("deriveResources: per-service members (records without `resources`)", () => {
  it("EC2 RunInstances: the instance, its image, key pair, subnet, VPC and security group, by id", () => {
    const source = record({
      requestParameters: { instancesSet: { items: [{ imageId: "ami-1", minCount: 1, maxCount: 1, keyName: "k1" }] } },
      responseElements: {
        instancesSet: {
          items: [
            {
              instanceId: "i-0abc",
              imageId: "ami-1",
              subnetId: "subnet-1",
              vpcId: "vpc-1",
              groupSet: { items: [{ groupId: "sg-1", groupName: "default" }] },
            },
          ],
        },
      },
    });
    assert.deepEqual(deriveResources(source), [
      { ResourceType: "AWS::EC2::Image", ResourceName: "ami-1" },
      { ResourceType: "AWS::EC2::KeyPair", ResourceName: "k1" },
      { ResourceType: "AWS::EC2::Instance", ResourceName: "i-0abc" },
      { ResourceType: "AWS::EC2::Subnet", ResourceName: "subnet-1" },
      { ResourceType: "AWS::EC2::VPC", ResourceName: "vpc-1" },
      { ResourceType: "AWS::EC2::SecurityGroup", ResourceName: "sg-1" },
    ]);
    assert.ok(findsByName(source, "i-0abc"));
    assert.ok(findsByName(source, ec2Arn("instance/i-0abc")));
    assert.ok(findsByName(source, ec2Arn("security-group/sg-1")));
    assert.equal(findsByName(source, "i-0ABC"), false, "exact, case-sensitive");
    assert.equal(findsByName(source, "default"), false, "a group's name is not its id");
  });

  const cases: Array<[string, Partial<CloudTrailRecord>, Array<[type: string, name: string, arn: string]>]> = [
    [
      "EC2 CreateVolume",
      { eventName: "CreateVolume", requestParameters: { size: "1" }, responseElements: { volumeId: "vol-1" } },
      [["AWS::EC2::Volume", "vol-1", ec2Arn("volume/vol-1")]],
    ],
    [
      "EC2 CreateSnapshot",
      {
        eventName: "CreateSnapshot",
        requestParameters: { volumeId: "vol-1" },
        responseElements: { snapshotId: "snap-1", volumeId: "vol-1" },
      },
      [
        ["AWS::EC2::Volume", "vol-1", ec2Arn("volume/vol-1")],
        ["AWS::EC2::Snapshot", "snap-1", ec2Arn("snapshot/snap-1")],
      ],
    ],
    [
      "RDS CreateDBCluster",
      {
        eventSource: "rds.amazonaws.com",
        eventName: "CreateDBCluster",
        requestParameters: { dBClusterIdentifier: "c1", engine: "aurora-mysql" },
      },
      [["AWS::RDS::DBCluster", "c1", `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:c1`]],
    ],
    [
      "ElastiCache CreateReplicationGroup",
      {
        eventSource: "elasticache.amazonaws.com",
        eventName: "CreateReplicationGroup",
        requestParameters: { replicationGroupId: "rg1", cacheSubnetGroupName: "sn1" },
      },
      [
        ["AWS::ElastiCache::ReplicationGroup", "rg1", `arn:aws:elasticache:${REGION}:${ACCOUNT}:replicationgroup:rg1`],
        ["AWS::ElastiCache::SubnetGroup", "sn1", `arn:aws:elasticache:${REGION}:${ACCOUNT}:subnetgroup:sn1`],
      ],
    ],
    [
      "IAM AttachRolePolicy: the role by name, the policy by ARN",
      {
        eventSource: "iam.amazonaws.com",
        eventName: "AttachRolePolicy",
        requestParameters: { roleName: "r1", policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess" },
      },
      [
        ["AWS::IAM::Role", "r1", `arn:aws:iam::${ACCOUNT}:role/r1`],
        ["AWS::IAM::Policy", "arn:aws:iam::aws:policy/ReadOnlyAccess", "ReadOnlyAccess"],
      ],
    ],
    [
      "Lambda CreateFunction",
      {
        eventSource: "lambda.amazonaws.com",
        eventName: "CreateFunction20150331",
        requestParameters: { functionName: "f1" },
        responseElements: {
          functionName: "f1",
          functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:f1`,
        },
      },
      [["AWS::Lambda::Function", "f1", `arn:aws:lambda:${REGION}:${ACCOUNT}:function:f1`]],
    ],
    [
      "SSM GetParameter: a hierarchical name",
      { eventSource: "ssm.amazonaws.com", eventName: "GetParameter", requestParameters: { name: "/a/b" } },
      [["AWS::SSM::Parameter", "/a/b", `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/a/b`]],
    ],
    [
      "CloudTrail StartLogging: the trail",
      { eventSource: "cloudtrail.amazonaws.com", eventName: "StartLogging", requestParameters: { name: "t1" } },
      [["AWS::CloudTrail::Trail", "t1", `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/t1`]],
    ],
  ];
  for (const [name, overrides, expected] of cases) {
    it(name, () => {
      const source = record(overrides);
      assert.deepEqual(
        deriveResources(source),
        expected.map(([ResourceType, ResourceName]) => ({ ResourceType, ResourceName })),
      );
      for (const [, shown, other] of expected) {
        assert.ok(findsByName(source, shown), `found by ${shown}`);
        assert.ok(findsByName(source, other), `found by ${other}`);
      }
    });
  }

  it("a CloudTrail event data store's name is not a trail", () => {
    const source = record({
      eventSource: "cloudtrail.amazonaws.com",
      eventName: "CreateEventDataStore",
      requestParameters: { name: "eds" },
    });
    assert.deepEqual(deriveResources(source), []);
  });

  it("caps the resources of one event at 50", () => {
    const items = Array.from({ length: 200 }, (_, i) => ({ instanceId: `i-${i}` }));
    const resources = deriveResources(record({ requestParameters: { instancesSet: { items } } }));
    assert.equal(resources.length, 50);
    assert.deepEqual(resources[49], { ResourceType: "AWS::EC2::Instance", ResourceName: "i-49" });
  });

  it("visits a bounded number of member values", () => {
    const wide: Record<string, unknown> = {};
    for (let i = 0; i < 10_000; i++) wide[`m${i}`] = i;
    assert.deepEqual(deriveResources(record({ requestParameters: { ...wide, instanceId: "i-late" } })), []);
    assert.deepEqual(deriveResources(record({ requestParameters: { instanceId: "i-early", ...wide } })), [
      { ResourceType: "AWS::EC2::Instance", ResourceName: "i-early" },
    ]);
  });

  it("does not look deeper than its depth bound", () => {
    let deep: Record<string, unknown> = { instanceId: "i-deep" };
    for (let i = 0; i < 20; i++) deep = { nested: deep };
    assert.deepEqual(deriveResources(record({ requestParameters: deep })), []);
  });
});

describe("deriveResources: the record's own resources", () => {
  it("shows names and ids, keeps ARNs for keys, merges a resource named twice", () => {
    const source = record({
      eventSource: "sts.amazonaws.com",
      eventName: "AssumeRole",
      requestParameters: { roleArn: `arn:aws:iam::${ACCOUNT}:role/path/r1`, roleSessionName: "s" },
      resources: [
        { accountId: ACCOUNT, type: "AWS::IAM::Role", ARN: `arn:aws:iam::${ACCOUNT}:role/path/r1` },
        { type: "AWS::KMS::Key", ARN: `arn:aws:kms:${REGION}:${ACCOUNT}:key/k-1` },
        { ARN: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/a/b` },
        { ARN: ec2Arn("instance/i-1") },
        { type: "AWS::S3::Object", ARNPrefix: "arn:aws:s3:::b/logs/" },
        { type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::b" },
        { type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::b" },
        { ARN: "arn:aws:unknown:::thing/x" },
      ],
    });
    assert.deepEqual(deriveResources(source), [
      { ResourceType: "AWS::IAM::Role", ResourceName: "r1" },
      { ResourceType: "AWS::KMS::Key", ResourceName: `arn:aws:kms:${REGION}:${ACCOUNT}:key/k-1` },
      { ResourceType: "AWS::SSM::Parameter", ResourceName: "/a/b" },
      { ResourceType: "AWS::EC2::Instance", ResourceName: "i-1" },
      { ResourceType: "AWS::S3::Object", ResourceName: "arn:aws:s3:::b/logs/" },
      { ResourceType: "AWS::S3::Bucket", ResourceName: "b" },
      { ResourceName: "arn:aws:unknown:::thing/x" },
    ]);
    for (const value of [
      "r1",
      `arn:aws:iam::${ACCOUNT}:role/path/r1`,
      `arn:aws:kms:${REGION}:${ACCOUNT}:key/k-1`,
      "k-1",
      "/a/b",
      `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/a/b`,
      "b",
      "arn:aws:s3:::b",
      "arn:aws:unknown:::thing/x",
    ]) {
      assert.ok(findsByName(source, value), `found by ${value}`);
    }
  });

  it("serializes only ResourceType and ResourceName", () => {
    const source = record({ requestParameters: { instanceId: "i-1" } });
    assert.equal(
      JSON.stringify(lookupEventFromRecord("{}", source).Resources),
      '[{"ResourceType":"AWS::EC2::Instance","ResourceName":"i-1"}]',
    );
  });
});

describe("deriveResources over real records (invictus-sigma-aws)", { skip: samplesMissingReason() }, () => {
  let records: RawRecord[] = [];
  const first = (eventName: string): CloudTrailRecord => {
    records = records.length > 0 ? records : invictusRecords();
    const found = records.find((r) => r["eventName"] === eventName && r["errorCode"] === undefined);
    assert.ok(found, `a successful ${eventName} in the samples`);
    return found as unknown as CloudTrailRecord;
  };
  const member = (value: unknown, ...path: Array<string | number>): string => {
    let at = value;
    for (const step of path) at = (at as Record<string | number, unknown>)[step];
    assert.equal(typeof at, "string");
    return at as string;
  };
  const has = (source: CloudTrailRecord, type: string, name: string): void => {
    assert.ok(
      deriveResources(source).some((r) => r.ResourceType === type && r.ResourceName === name),
      `${source.eventName} lists ${type} ${name}: ${JSON.stringify(deriveResources(source))}`,
    );
  };

  it("EC2 RunInstances, TerminateInstances, CreateVolume, CreateSnapshot: ids (the records carry no resources)", () => {
    const run = first("RunInstances");
    assert.equal(run.resources, undefined);
    has(run, "AWS::EC2::Instance", member(run.responseElements, "instancesSet", "items", 0, "instanceId"));
    has(run, "AWS::EC2::Image", member(run.requestParameters, "instancesSet", "items", 0, "imageId"));
    const terminate = first("TerminateInstances");
    has(terminate, "AWS::EC2::Instance", member(terminate.requestParameters, "instancesSet", "items", 0, "instanceId"));
    const volume = first("CreateVolume");
    has(volume, "AWS::EC2::Volume", member(volume.responseElements, "volumeId"));
    const snapshot = first("CreateSnapshot");
    has(snapshot, "AWS::EC2::Snapshot", member(snapshot.responseElements, "snapshotId"));
    has(snapshot, "AWS::EC2::Volume", member(snapshot.requestParameters, "volumeId"));
  });

  it("RDS, IAM, S3, KMS", () => {
    const db = first("CreateDBInstance");
    has(db, "AWS::RDS::DBInstance", member(db.requestParameters, "dBInstanceIdentifier"));
    has(db, "AWS::RDS::DBSubnetGroup", member(db.requestParameters, "dBSubnetGroupName"));
    const user = first("CreateUser");
    has(user, "AWS::IAM::User", member(user.requestParameters, "userName"));
    const acl = first("GetBucketAcl");
    has(acl, "AWS::S3::Bucket", member(acl.requestParameters, "bucketName"));
    const decrypt = first("Decrypt");
    has(decrypt, "AWS::KMS::Key", member(decrypt.resources, 0, "ARN"));
  });

  it("every record resource's ARN finds its event; no event lists more than 50", () => {
    records = records.length > 0 ? records : invictusRecords();
    let checked = 0;
    for (const raw of records) {
      const source = raw as unknown as CloudTrailRecord;
      const event = lookupEventFromRecord("{}", source);
      assert.ok(event.Resources.length <= 50);
      for (const resource of source.resources ?? []) {
        if (resource.ARN === undefined) continue;
        assert.ok(eventHasAttribute(event, "ResourceName", resource.ARN), `${source.eventName} by ${resource.ARN}`);
        checked++;
      }
    }
    assert.ok(checked > 100, `checked ${checked} resources`);
  });
});
