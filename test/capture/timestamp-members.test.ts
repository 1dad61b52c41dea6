import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ServiceModels } from "../../src/capture/protocols/service-models.js";
import { recordOfCall, type ObservedCall } from "../../src/capture/proxy/record-of-call.js";
import { renderTimestamp } from "../../src/capture/protocols/timestamp-members.js";

/**
 * Timestamp members in records built from captured calls, with the real service models. Each
 * expected text is the one a real CloudTrail record holds (dataset and file named per test, under
 * /work/shared/data/cloudtrail-samples or seed-examples), fed the same instant on the wire.
 */
const models = new ServiceModels();
const context = { models, principals: undefined, defaultAccountId: "123456789012" };
const SIGV4 =
  "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/SERVICE/aws4_request, SignedHeaders=host, Signature=00";
const FORM = { "content-type": "application/x-www-form-urlencoded; charset=utf-8" };

interface CallSpec {
  service: string;
  method?: string;
  url?: string;
  headers?: Record<string, string>;
  body?: string;
  responseBody?: string;
}

interface EventRecord {
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
}

function record(spec: CallSpec): EventRecord {
  const url = spec.url ?? "/";
  const question = url.indexOf("?");
  const body = spec.body === undefined ? undefined : Buffer.from(spec.body);
  const responseBody = Buffer.from(spec.responseBody ?? "");
  const call: ObservedCall = {
    scope: { accessKeyId: "AKIAEXAMPLE", region: "us-east-1", service: spec.service },
    request: {
      method: spec.method ?? "POST",
      path: question === -1 ? url : url.slice(0, question),
      rawQuery: question === -1 ? "" : url.slice(question + 1),
      headers: { authorization: SIGV4.replace("SERVICE", spec.service), ...spec.headers },
      body,
      bodyBytes: body?.length ?? 0,
    },
    response: { status: 200, headers: {}, body: responseBody, bodyBytes: responseBody.length },
    sourceIPAddress: "127.0.0.1",
    completedAtMs: Date.UTC(2026, 0, 1),
  };
  const json = recordOfCall(context, call);
  assert.ok(json, `no record for ${spec.service} ${url}`);
  return JSON.parse(json) as EventRecord;
}

/** A query-protocol answer: `<OpResponse><OpResult>…</OpResult></OpResponse>`. */
function queryAnswer(operation: string, result: string): string {
  return (
    `<${operation}Response xmlns="https://example.amazonaws.com/doc/"><${operation}Result>${result}</${operation}Result>` +
    `<ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata></${operation}Response>`
  );
}

function jsonTarget(target: string): Record<string, string> {
  return { "x-amz-target": target, "content-type": "application/x-amz-json-1.1" };
}

describe("timestamps: query protocol → Java's default text (MMM d, yyyy h:mm:ss a, UTC)", () => {
  it("IAM CreateUser user.createDate (aws-docs-examples/cloudtrail_user_guide_examples.json)", () => {
    const event = record({
      service: "iam",
      headers: FORM,
      body: "Action=CreateUser&UserName=Bob&Version=2010-05-08",
      responseBody: queryAnswer(
        "CreateUser",
        "<User><Path>/</Path><UserName>Bob</UserName><UserId>AIDAEXAMPLE</UserId>" +
          "<Arn>arn:aws:iam::123456789012:user/Bob</Arn><CreateDate>2014-03-24T21:11:59.123Z</CreateDate></User>",
      ),
    });
    assert.deepEqual(event.responseElements?.["user"], {
      path: "/",
      userName: "Bob",
      userId: "AIDAEXAMPLE",
      arn: "arn:aws:iam::123456789012:user/Bob",
      createDate: "Mar 24, 2014 9:11:59 PM",
    });
  });

  it("STS AssumeRole credentials.expiration (cribl-pack-sample/controltower_us-west-2_2022-01-03.json.gz)", () => {
    const event = record({
      service: "sts",
      headers: FORM,
      body: "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=s&Version=2011-06-15",
      responseBody: queryAnswer(
        "AssumeRole",
        "<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>x</SecretAccessKey>" +
          "<SessionToken>t</SessionToken><Expiration>2022-01-03T20:03:06Z</Expiration></Credentials>",
      ),
    });
    const credentials = event.responseElements?.["credentials"] as Record<string, unknown>;
    assert.equal(credentials["expiration"], "Jan 3, 2022 8:03:06 PM");
  });

  it("RDS DeleteDBSnapshot, rendered before the result is unwrapped (invictus …1235Z_YbVFCP9AYzJDhHV9)", () => {
    const event = record({
      service: "rds",
      headers: FORM,
      body: "Action=DeleteDBSnapshot&DBSnapshotIdentifier=snap&Version=2014-10-31",
      responseBody: queryAnswer(
        "DeleteDBSnapshot",
        "<DBSnapshot><DBSnapshotIdentifier>snap</DBSnapshotIdentifier>" +
          "<SnapshotCreateTime>2023-07-10T12:20:17.512Z</SnapshotCreateTime>" +
          "<InstanceCreateTime>2023-07-10T12:19:33.901Z</InstanceCreateTime>" +
          "<OriginalSnapshotCreateTime>2023-07-10T12:20:17.512Z</OriginalSnapshotCreateTime>" +
          "<AllocatedStorage>20</AllocatedStorage></DBSnapshot>",
      ),
    });
    assert.deepEqual(event.responseElements, {
      dBSnapshotIdentifier: "snap",
      snapshotCreateTime: "Jul 10, 2023 12:20:17 PM",
      instanceCreateTime: "Jul 10, 2023 12:19:33 PM",
      allocatedStorage: 20,
      originalSnapshotCreateTime: "Jul 10, 2023 12:20:17 PM",
    });
  });

  it("RDS StartExportTask keeps the wire's ISO text (panther-analysis-tests, the one RDS exception)", () => {
    const event = record({
      service: "rds",
      headers: FORM,
      body: "Action=StartExportTask&ExportTaskIdentifier=e&Version=2014-10-31",
      responseBody: queryAnswer(
        "StartExportTask",
        "<ExportTaskIdentifier>e</ExportTaskIdentifier><SnapshotTime>2024-01-14T00:00:00Z</SnapshotTime>" +
          "<TaskStartTime>2024-01-15T10:30:00Z</TaskStartTime>",
      ),
    });
    assert.equal(event.responseElements?.["snapshotTime"], "2024-01-14T00:00:00Z");
    assert.equal(event.responseElements?.["taskStartTime"], "2024-01-15T10:30:00Z");
  });

  it("ElastiCache ModifyCacheCluster cacheClusterCreateTime (seed-examples/elasticache-ModifyCacheCluster.json)", () => {
    const event = record({
      service: "elasticache",
      headers: FORM,
      body: "Action=ModifyCacheCluster&CacheClusterId=test-memcached&NumCacheNodes=3&Version=2015-02-02",
      responseBody: queryAnswer(
        "ModifyCacheCluster",
        "<CacheCluster><CacheClusterId>test-memcached</CacheClusterId>" +
          "<CacheClusterCreateTime>2014-12-01T22:16:06.234Z</CacheClusterCreateTime></CacheCluster>",
      ),
    });
    assert.deepEqual(event.responseElements, {
      cacheClusterId: "test-memcached",
      cacheClusterCreateTime: "Dec 1, 2014 10:16:06 PM",
    });
  });
});

describe("timestamps: ec2 protocol → epoch milliseconds", () => {
  it("CreateVolume createTime (invictus …1215Z_YxpR6PTmNBivhnJJ: 1688991025000)", () => {
    const event = record({
      service: "ec2",
      headers: FORM,
      body: "Action=CreateVolume&AvailabilityZone=us-east-1a&Size=1&Version=2016-11-15",
      responseBody:
        '<CreateVolumeResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId>' +
        "<volumeId>vol-1</volumeId><size>1</size><createTime>2023-07-10T12:10:25.000Z</createTime></CreateVolumeResponse>",
    });
    assert.equal(event.responseElements?.["createTime"], 1688991025000);
  });

  it("CreateSnapshot startTime keeps milliseconds (invictus …1215Z_MifI13MOmOjRfXzJ: 1688991086923)", () => {
    const event = record({
      service: "ec2",
      headers: FORM,
      body: "Action=CreateSnapshot&VolumeId=vol-1&Version=2016-11-15",
      responseBody:
        '<CreateSnapshotResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId>' +
        "<snapshotId>snap-1</snapshotId><startTime>2023-07-10T12:11:26.923Z</startTime></CreateSnapshotResponse>",
    });
    assert.equal(event.responseElements?.["startTime"], 1688991086923);
  });

  it("RunInstances launchTime and attachTime inside {items} lists (invictus …1200Z_x9kHmzMa7cx6l9wM)", () => {
    const event = record({
      service: "ec2",
      headers: FORM,
      body: "Action=RunInstances&ImageId=ami-1&MinCount=1&MaxCount=1&Version=2016-11-15",
      responseBody:
        '<RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId>' +
        "<reservationId>r-0</reservationId><instancesSet><item><instanceId>i-1</instanceId>" +
        "<launchTime>2023-07-10T11:55:21.000Z</launchTime><networkInterfaceSet><item>" +
        "<attachment><attachmentId>eni-attach-1</attachmentId><attachTime>2023-07-10T11:55:21.000Z</attachTime></attachment>" +
        "</item></networkInterfaceSet></item></instancesSet></RunInstancesResponse>",
    });
    const instance = (event.responseElements?.["instancesSet"] as { items: Record<string, unknown>[] }).items[0]!;
    assert.equal(instance["launchTime"], 1688990121000);
    const eni = (instance["networkInterfaceSet"] as { items: Record<string, unknown>[] }).items[0]!;
    assert.deepEqual(eni["attachment"], { attachmentId: "eni-attach-1", attachTime: 1688990121000 });
  });

  it("CreateNatGateway keeps the XML text (invictus …1200Z_x9kHmzMa7cx6l9wM: 2023-07-10T11:55:14.000Z)", () => {
    const event = record({
      service: "ec2",
      headers: FORM,
      body: "Action=CreateNatGateway&SubnetId=subnet-1&Version=2016-11-15",
      responseBody:
        '<CreateNatGatewayResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId>' +
        "<natGateway><natGatewayId>nat-1</natGatewayId><createTime>2023-07-10T11:55:14.000Z</createTime></natGateway>" +
        "</CreateNatGatewayResponse>",
    });
    const natGateway = event.responseElements?.["natGateway"] as Record<string, unknown>;
    assert.equal(natGateway["createTime"], "2023-07-10T11:55:14.000Z");
  });
});

describe("timestamps: json protocol (epoch seconds on the wire) → Java's default text", () => {
  it("SSM SendCommand command.requestedDateTime, expiresAfter (invictus …1200Z_iLj9fb7yyUG9X4Bf)", () => {
    const event = record({
      service: "ssm",
      headers: jsonTarget("AmazonSSM.SendCommand"),
      body: JSON.stringify({ DocumentName: "AWS-RunShellScript", InstanceIds: ["i-1"] }),
      responseBody: JSON.stringify({
        Command: { CommandId: "c-1", RequestedDateTime: 1688990236.782, ExpiresAfter: "1.688997436782E9" },
      }),
    });
    const command = event.responseElements?.["command"] as Record<string, unknown>;
    assert.equal(command["requestedDateTime"], "Jul 10, 2023 11:57:16 AM");
    assert.equal(command["expiresAfter"], "Jul 10, 2023 1:57:16 PM");
  });

  it("Config PutEvaluations request orderingTimestamp (cribl-pack-sample …2022-01-03.json.gz)", () => {
    const event = record({
      service: "config",
      headers: jsonTarget("StarlingDoveService.PutEvaluations"),
      body: JSON.stringify({
        ResultToken: "t",
        Evaluations: [
          { ComplianceResourceType: "AWS::S3::Bucket", ComplianceType: "COMPLIANT", OrderingTimestamp: 1641236586 },
        ],
      }),
      responseBody: JSON.stringify({ FailedEvaluations: [] }),
    });
    const evaluations = event.requestParameters?.["evaluations"] as Record<string, unknown>[];
    assert.equal(evaluations[0]!["orderingTimestamp"], "Jan 3, 2022 7:03:06 PM");
  });

  it("KMS ScheduleKeyDeletion deletionDate at midnight is 12 AM (panther-analysis-tests)", () => {
    const event = record({
      service: "kms",
      headers: jsonTarget("TrentService.ScheduleKeyDeletion"),
      body: JSON.stringify({ KeyId: "k", PendingWindowInDays: 7 }),
      responseBody: JSON.stringify({ KeyId: "k", DeletionDate: 1546300800 }),
    });
    assert.equal(event.responseElements?.["deletionDate"], "Jan 1, 2019 12:00:00 AM");
  });

  it("string shapes that hold dates are left alone (SSM PutInventory captureTime, invictus …1205Z_nx9Yx1FyJdBaTqKj)", () => {
    const event = record({
      service: "ssm",
      headers: jsonTarget("AmazonSSM.PutInventory"),
      body: JSON.stringify({
        InstanceId: "i-1",
        Items: [{ TypeName: "AWS:Tag", SchemaVersion: "1.0", CaptureTime: "2023-07-10T11:57:45Z" }],
      }),
      responseBody: "{}",
    });
    const items = event.requestParameters?.["items"] as Record<string, unknown>[];
    assert.equal(items[0]!["captureTime"], "2023-07-10T11:57:45Z");
  });
});

describe("timestamps: rest-json → as sent; Lambda and rest-xml (Route 53) → Java's default text", () => {
  it("IAM Roles Anywhere CreateProfile createdAt keeps the microseconds (invictus …1230Z_lHgkh3VeI3XnjZSL)", () => {
    const event = record({
      service: "rolesanywhere",
      url: "/profiles",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "p", roleArns: ["arn:aws:iam::123456789012:role/r"] }),
      responseBody: JSON.stringify({
        profile: {
          profileId: "p-1",
          createdAt: "2023-07-10T12:27:13.431264Z",
          updatedAt: "2023-07-10T12:27:13.431264Z",
        },
      }),
    });
    const profile = event.responseElements?.["profile"] as Record<string, unknown>;
    assert.equal(profile["createdAt"], "2023-07-10T12:27:13.431264Z");
    assert.equal(profile["updatedAt"], "2023-07-10T12:27:13.431264Z");
  });

  it("DevOps Guru SearchInsights request times stay epoch seconds (invictus …1230Z_AvIajGd5rkz6vTy4)", () => {
    const event = record({
      service: "devops-guru",
      url: "/insights/search",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ StartTimeRange: { FromTime: 1688560107.857, ToTime: 1688992107.857 }, Type: "REACTIVE" }),
      responseBody: JSON.stringify({ ReactiveInsights: [] }),
    });
    assert.deepEqual(event.requestParameters?.["startTimeRange"], { fromTime: 1688560107.857, toTime: 1688992107.857 });
  });

  it("Lambda: timestamp shapes as `MMM d, y, h:mm:ss a`, its string lastModified as sent", () => {
    // awsdocs/aws-lambda-developer-guide doc_source/invocation-eventfiltering.md: "May 9, 2024, 9:05:41 PM".
    const mapping = record({
      service: "lambda",
      url: "/2015-03-31/event-source-mappings/",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ FunctionName: "f", EventSourceArn: "arn:aws:sqs:us-east-2:123456789012:q" }),
      responseBody: JSON.stringify({ UUID: "u", LastModified: 1715288741.0, State: "Creating" }),
    });
    assert.equal(mapping.responseElements?.["lastModified"], "May 9, 2024, 9:05:41 PM");
    // invictus …1230Z_ZtUNbBkwAu98FPZb: CreateFunction's lastModified is a string shape.
    const created = record({
      service: "lambda",
      url: "/2015-03-31/functions",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ FunctionName: "f", Role: "arn:aws:iam::123456789012:role/r", Code: {} }),
      responseBody: JSON.stringify({ FunctionName: "f", LastModified: "2023-07-10T12:25:32.895+0000" }),
    });
    assert.equal(created.responseElements?.["lastModified"], "2023-07-10T12:25:32.895+0000");
  });

  it("Route 53 ChangeResourceRecordSets changeInfo.submittedAt (awsdocs/amazon-route53-docs logging-using-cloudtrail.md)", () => {
    const event = record({
      service: "route53",
      url: "/2013-04-01/hostedzone/Z1PA6795UKMFR9/rrset/",
      headers: { "content-type": "application/xml" },
      body:
        '<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes>' +
        "<Change><Action>CREATE</Action><ResourceRecordSet><Name>a.example.com.</Name><Type>A</Type><TTL>300</TTL>" +
        "<ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords>" +
        "</ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>",
      responseBody:
        '<ChangeResourceRecordSetsResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeInfo>' +
        "<Id>/change/C156SRE0X2ZB10</Id><Status>PENDING</Status><SubmittedAt>2018-01-16T00:41:43.000Z</SubmittedAt>" +
        "</ChangeInfo></ChangeResourceRecordSetsResponse>",
    });
    assert.deepEqual(event.responseElements?.["changeInfo"], {
      id: "/change/C156SRE0X2ZB10",
      status: "PENDING",
      submittedAt: "Jan 16, 2018 12:41:43 AM",
    });
  });
});

describe("renderTimestamp: wire forms in, CloudTrail's forms out", () => {
  const instant = Date.UTC(2024, 7, 1, 13, 33, 28, 123);
  it("reads ISO 8601 with any fraction or offset, epoch seconds (number or text), epoch ms, HTTP dates", () => {
    for (const wire of [
      "2024-08-01T13:33:28.123Z",
      "2024-08-01T13:33:28.123456789Z",
      "2024-08-01T15:33:28.123+02:00",
      "2024-08-01T13:33:28.123",
      1722519208.123,
      "1.722519208123E9",
      instant,
    ]) {
      assert.equal(renderTimestamp(wire, "epochMillis"), instant, String(wire));
      assert.equal(renderTimestamp(wire, "legacy"), "Aug 1, 2024 1:33:28 PM", String(wire));
    }
    assert.equal(renderTimestamp("Thu, 01 Aug 2024 13:33:28 GMT", "legacy"), "Aug 1, 2024 1:33:28 PM");
    assert.equal(renderTimestamp("2024-08-01T12:00:00Z", "legacy"), "Aug 1, 2024 12:00:00 PM");
    assert.equal(renderTimestamp("2024-08-01T13:33:28Z", "asSent"), "2024-08-01T13:33:28Z");
  });

  it("leaves what is not an instant as sent", () => {
    for (const wire of ["", "soon", "2023-02-31T00:00:00Z", "2023-13-01T00:00:00Z", "0x10", true, null, {}, Infinity]) {
      assert.equal(renderTimestamp(wire, "legacy"), wire, String(wire));
      assert.equal(renderTimestamp(wire, "epochMillis"), wire, String(wire));
    }
    assert.equal(renderTimestamp("Aug 1, 2024 1:33:28 PM", "legacy"), "Aug 1, 2024 1:33:28 PM");
  });
});
