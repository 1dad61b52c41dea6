import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ServiceModels } from "../../src/capture/protocols/service-models.js";
import { recordOfCall, type ObservedCall } from "../../src/capture/proxy/record-of-call.js";
import { eventNameOf } from "../../src/capture/protocols/event-name.js";
import { withEc2Layout } from "../../src/capture/protocols/ec2-layout.js";
import { decodeQueryRequest, parseQueryParams } from "../../src/capture/protocols/query-request.js";

/**
 * Records built from captured calls, checked against the shapes in CloudTrail's own records (the
 * shared samples: invictus-sigma-aws, real S3/Lambda/EC2 delivery files, and AWS's documented examples).
 */
const models = new ServiceModels();
const context = { models, principals: undefined, defaultAccountId: "123456789012" };
const SIGV4 =
  "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/SERVICE/aws4_request, SignedHeaders=host, Signature=00";

interface CallSpec {
  service: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  status?: number;
  responseHeaders?: Record<string, string>;
  responseBody?: string;
  tls?: boolean;
}

type EventRecord = Record<string, unknown> & {
  requestParameters: Record<string, unknown> | null;
  additionalEventData?: Record<string, unknown>;
};

function record(spec: CallSpec): EventRecord {
  const question = spec.url.indexOf("?");
  const body = spec.body === undefined ? undefined : Buffer.from(spec.body);
  const responseBody = Buffer.from(spec.responseBody ?? "");
  const call: ObservedCall = {
    scope: { accessKeyId: "AKIAEXAMPLE", region: "us-east-1", service: spec.service },
    request: {
      method: spec.method,
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
    ...(spec.tls === true ? { tlsDetails: { tlsVersion: "TLSv1.2", cipherSuite: "ECDHE-RSA-AES128-GCM-SHA256" } } : {}),
  };
  const json = recordOfCall(context, call);
  assert.ok(json, `no record for ${spec.method} ${spec.url}`);
  return JSON.parse(json) as EventRecord;
}

describe("rest-xml request bodies in requestParameters", () => {
  it("S3 PutBucketTagging: the document under its root name, attributes and typed text, as CloudTrail logs it", () => {
    const event = record({
      service: "s3",
      method: "PUT",
      url: "/?tagging",
      headers: { host: "bk1.s3.amazonaws.com", "content-md5": "x" },
      body:
        '<?xml version="1.0" encoding="UTF-8"?><Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        "<TagSet><Tag><Key>StratusRedTeam</Key><Value>true</Value></Tag></TagSet></Tagging>",
      responseHeaders: { "x-amz-id-2": "crWcPvYBWtyvXOYN1PRw383iON5k+0GZ6VP9RQHYrC5Cp0B5yANz8qHikgtOPtFBfVeBqf+UUtg=" },
      tls: true,
    });
    assert.equal(event["eventName"], "PutBucketTagging");
    // invictus-sigma-aws, PutBucketTagging (real delivery file).
    assert.deepEqual(event.requestParameters, {
      Tagging: {
        xmlns: "http://s3.amazonaws.com/doc/2006-03-01/",
        TagSet: { Tag: { Value: true, Key: "StratusRedTeam" } },
      },
      tagging: "",
      bucketName: "bk1",
      Host: "bk1.s3.amazonaws.com",
    });
    assert.deepEqual(event.additionalEventData, {
      SignatureVersion: "SigV4",
      CipherSuite: "ECDHE-RSA-AES128-GCM-SHA256",
      bytesTransferredIn: 177,
      AuthenticationMethod: "AuthHeader",
      "x-amz-id-2": "crWcPvYBWtyvXOYN1PRw383iON5k+0GZ6VP9RQHYrC5Cp0B5yANz8qHikgtOPtFBfVeBqf+UUtg=",
      bytesTransferredOut: 0,
    });
    // CloudTrail's key order.
    assert.deepEqual(Object.keys(event.additionalEventData ?? {}), [
      "SignatureVersion",
      "CipherSuite",
      "bytesTransferredIn",
      "AuthenticationMethod",
      "x-amz-id-2",
      "bytesTransferredOut",
    ]);
    assert.ok(Object.keys(event).indexOf("additionalEventData") === Object.keys(event).indexOf("responseElements") + 1);
  });

  it("S3: repeated elements become arrays, numbers typed, x-amz-* headers and query literals logged by wire name", () => {
    const lifecycle = record({
      service: "s3",
      method: "PUT",
      url: "/?lifecycle",
      headers: { host: "bk1.s3.us-east-1.amazonaws.com" },
      body:
        '<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ID>a</ID><Filter><Prefix>*</Prefix></Filter>' +
        "<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule><Rule><ID>b</ID><Status>Disabled</Status></Rule></LifecycleConfiguration>",
    });
    // CloudTrail names this call PutBucketLifecycle (invictus-sigma-aws), as the route's first model operation.
    assert.equal(lifecycle["eventName"], "PutBucketLifecycle");
    assert.deepEqual(lifecycle.requestParameters, {
      bucketName: "bk1",
      Host: "bk1.s3.us-east-1.amazonaws.com",
      lifecycle: "",
      LifecycleConfiguration: {
        xmlns: "http://s3.amazonaws.com/doc/2006-03-01/",
        Rule: [
          { ID: "a", Filter: { Prefix: "*" }, Status: "Enabled", Expiration: { Days: 1 } },
          { ID: "b", Status: "Disabled" },
        ],
      },
    });
    const create = record({
      service: "s3",
      method: "PUT",
      url: "/bk2",
      headers: { host: "127.0.0.1:5000", "x-amz-acl": "private", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      body: '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>us-east-2</LocationConstraint></CreateBucketConfiguration>',
    });
    assert.deepEqual(create.requestParameters, {
      bucketName: "bk2",
      Host: "127.0.0.1:5000",
      "x-amz-acl": "private",
      CreateBucketConfiguration: { xmlns: "http://s3.amazonaws.com/doc/2006-03-01/", LocationConstraint: "us-east-2" },
    });
    const list = record({
      service: "s3",
      method: "GET",
      url: "/?list-type=2&prefix=&encoding-type=url",
      headers: { host: "bk2.s3.amazonaws.com" },
    });
    assert.deepEqual(list.requestParameters, {
      bucketName: "bk2",
      Host: "bk2.s3.amazonaws.com",
      "list-type": "2",
      prefix: "",
      "encoding-type": "url",
    });
  });

  it("S3 PutBucketPolicy: the policy parsed, as bucketPolicy; PutObject's data is never logged", () => {
    const policy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject" }] };
    const event = record({
      service: "s3",
      method: "PUT",
      url: "/?policy",
      headers: { host: "bk1.s3.amazonaws.com" },
      body: JSON.stringify(policy),
    });
    assert.deepEqual(event.requestParameters, {
      bucketPolicy: policy,
      bucketName: "bk1",
      Host: "bk1.s3.amazonaws.com",
      policy: "",
    });
    const put = record({
      service: "s3",
      method: "PUT",
      url: "/dir/a.xml",
      headers: {
        host: "bk1.s3.amazonaws.com",
        "x-amz-decoded-content-length": "21",
        "content-encoding": "aws-chunked",
      },
      body: "<Tagging><TagSet/></Tagging> plus chunk signatures",
    });
    assert.deepEqual(put.requestParameters, { bucketName: "bk1", Host: "bk1.s3.amazonaws.com", key: "dir/a.xml" });
    assert.equal(put["eventCategory"], "Data");
    // aws-chunked uploads count the object's bytes, not the chunk framing.
    assert.equal(put.additionalEventData?.["bytesTransferredIn"], 21);
    assert.equal(put.additionalEventData?.["CipherSuite"], undefined, "plain HTTP: no CipherSuite");
  });

  it("S3 presigned GET: AuthenticationMethod QueryString, the signature parameters left out", () => {
    const event = record({
      service: "s3",
      method: "GET",
      url: "/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=00",
      headers: { host: "bk1.s3.amazonaws.com", authorization: "" },
      responseBody: "0123456789",
      responseHeaders: { "x-amz-id-2": "id2" },
    });
    assert.deepEqual(event.requestParameters, { bucketName: "bk1", Host: "bk1.s3.amazonaws.com", key: "k" });
    assert.deepEqual(event.additionalEventData, {
      SignatureVersion: "SigV4",
      bytesTransferredIn: 0,
      AuthenticationMethod: "QueryString",
      "x-amz-id-2": "id2",
      bytesTransferredOut: 10,
    });
  });

  it("S3 ListObjectsV2 is logged as ListObjects (list-type 2), a read-only data event on the bucket's objects", () => {
    const event = record({
      service: "s3",
      method: "GET",
      url: "/?list-type=2&prefix=&delimiter=%2F&encoding-type=url",
      headers: { host: "bk1.s3.amazonaws.com" },
      responseBody: "<ListBucketResult/>",
      responseHeaders: { "x-amz-request-id": "9E67F4B1EA896060" },
      tls: true,
    });
    // invictus-sigma-aws (real delivery files): "eventName": "ListObjects", "list-type": "2",
    // readOnly, managementEvent false, eventCategory Data, an ARNPrefix resource then the bucket.
    assert.equal(event["eventName"], "ListObjects");
    assert.deepEqual(event.requestParameters, {
      bucketName: "bk1",
      Host: "bk1.s3.amazonaws.com",
      "list-type": "2",
      prefix: "",
      delimiter: "/",
      "encoding-type": "url",
    });
    assert.equal(event["readOnly"], true);
    assert.equal(event["managementEvent"], false);
    assert.equal(event["eventCategory"], "Data");
    assert.equal(event["responseElements"], null);
    assert.deepEqual(event["resources"], [
      { type: "AWS::S3::Object", ARNPrefix: "arn:aws:s3:::bk1/" },
      { accountId: "123456789012", type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::bk1" },
    ]);
    // ListObjects (v1) keeps its name, and is a data event as well.
    const v1 = record({
      service: "s3",
      method: "GET",
      url: "/?prefix=logs%2F",
      headers: { host: "bk1.s3.amazonaws.com" },
    });
    assert.equal(v1["eventName"], "ListObjects");
    assert.equal(v1["eventCategory"], "Data");
    assert.deepEqual((v1["resources"] as unknown[])[0], {
      type: "AWS::S3::Object",
      ARNPrefix: "arn:aws:s3:::bk1/logs/",
    });
  });

  it("Route 53 ChangeResourceRecordSets: changeBatch lower-camel and typed, lists as arrays", () => {
    const event = record({
      service: "route53",
      method: "POST",
      url: "/2013-04-01/hostedzone/Z1PA6795UKMFR9/rrset/",
      body:
        '<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">' +
        "<ChangeBatch><Comment>Adding subdomain</Comment><Changes><Change><Action>CREATE</Action><ResourceRecordSet>" +
        "<Name>prod.example.com.</Name><Type>A</Type><TTL>86400</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value>" +
        "</ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>",
      responseBody:
        '<ChangeResourceRecordSetsResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeInfo><Id>/change/C2682N5HXP0BZ4</Id>' +
        "<Status>PENDING</Status><SubmittedAt>2015-01-16T21:00:21.000Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>",
    });
    assert.equal(event["eventSource"], "route53.amazonaws.com");
    assert.equal(event["eventName"], "ChangeResourceRecordSets");
    assert.deepEqual(event.requestParameters, {
      hostedZoneId: "Z1PA6795UKMFR9",
      changeBatch: {
        comment: "Adding subdomain",
        changes: [
          {
            action: "CREATE",
            resourceRecordSet: {
              name: "prod.example.com.",
              type: "A",
              tTL: 86400,
              resourceRecords: [{ value: "192.0.2.1" }],
            },
          },
        ],
      },
    });
    assert.deepEqual(event["responseElements"], {
      // Java's default date text, as in AWS's Route 53 examples (docs/reference/proxy.md, Timestamps).
      changeInfo: { id: "/change/C2682N5HXP0BZ4", status: "PENDING", submittedAt: "Jan 16, 2015 9:00:21 PM" },
    });
    assert.equal(event["additionalEventData"], undefined);
  });
});

describe("Lambda event names carry CloudTrail's API-version suffixes", () => {
  const lambda = models.candidates("lambda")[0]!;
  const name = (operation: string): string => eventNameOf(lambda, { name: operation, ...lambda.operations[operation] });

  it("derived from the route's date, v2 where CloudTrail writes it, none for Invoke and post-2018 APIs", () => {
    // As in CloudTrail's Lambda records (invictus-sigma-aws, stratus-red-team, 2023–2024).
    assert.equal(name("ListFunctions"), "ListFunctions20150331");
    assert.equal(name("CreateFunction"), "CreateFunction20150331");
    assert.equal(name("DeleteFunction"), "DeleteFunction20150331");
    assert.equal(name("ListVersionsByFunction"), "ListVersionsByFunction20150331");
    assert.equal(name("GetFunction"), "GetFunction20150331v2");
    assert.equal(name("UpdateFunctionCode"), "UpdateFunctionCode20150331v2");
    assert.equal(name("UpdateFunctionConfiguration"), "UpdateFunctionConfiguration20150331v2");
    assert.equal(name("AddPermission"), "AddPermission20150331v2");
    assert.equal(name("RemovePermission"), "RemovePermission20150331v2");
    assert.equal(name("PublishLayerVersion"), "PublishLayerVersion20181031");
    assert.equal(name("TagResource"), "TagResource20170331");
    assert.equal(name("GetFunctionCodeSigningConfig"), "GetFunctionCodeSigningConfig");
    assert.equal(name("Invoke"), "Invoke");
    assert.equal(name("InvokeAsync"), "InvokeAsync");
  });

  it("in the record: eventName suffixed, readOnly and the data-event rule read from the operation", () => {
    const list = record({ service: "lambda", method: "GET", url: "/2015-03-31/functions/" });
    assert.equal(list["eventName"], "ListFunctions20150331");
    assert.equal(list["readOnly"], true);
    const get = record({ service: "lambda", method: "GET", url: "/2015-03-31/functions/f1" });
    assert.equal(get["eventName"], "GetFunction20150331v2");
    assert.deepEqual(get.requestParameters, { functionName: "f1" });
    const invoke = record({
      service: "lambda",
      method: "POST",
      url: "/2015-03-31/functions/f1/invocations",
      body: "{}",
    });
    assert.equal(invoke["eventName"], "Invoke");
    assert.equal(invoke["eventCategory"], "Data");
    const other = record({
      service: "ec2",
      method: "POST",
      url: "/",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "Action=DescribeRegions&Version=2016-11-15",
    });
    assert.equal(other["eventName"], "DescribeRegions");
  });
});

describe("EC2 requestParameters as CloudTrail's records show them", () => {
  const ec2 = models.candidates("ec2")[0]!;
  const decode = (query: string): Record<string, unknown> | null => {
    const params = parseQueryParams(query);
    const operation = params.get("Action")!;
    return withEc2Layout(operation, decodeQueryRequest(ec2, ec2.operations[operation]?.input, params));
  };

  it("RunInstances: EC2's defaults for omitted members, CloudTrail's order, groupSet, tags inside tagSpecificationSet", () => {
    const params = decode(
      "Action=RunInstances&ImageId=ami-029eb80bc237bec6f&MinCount=1&MaxCount=1&InstanceType=t3.micro" +
        "&ClientToken=D688CB0A&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=StratusRedTeam" +
        "&TagSpecification.1.Tag.1.Value=true&SecurityGroupId.1=sg-1",
    );
    // invictus-sigma-aws RunInstances (real), with the group added.
    assert.deepEqual(params, {
      instancesSet: { items: [{ imageId: "ami-029eb80bc237bec6f", minCount: 1, maxCount: 1 }] },
      instanceType: "t3.micro",
      blockDeviceMapping: {},
      monitoring: { enabled: false },
      disableApiTermination: false,
      disableApiStop: false,
      clientToken: "D688CB0A",
      tagSpecificationSet: {
        items: [{ resourceType: "instance", tags: [{ key: "StratusRedTeam", value: "true" }] }],
      },
      groupSet: { items: [{ groupId: "sg-1" }] },
    });
    assert.deepEqual(Object.keys(params ?? {}).slice(0, 7), [
      "instancesSet",
      "instanceType",
      "blockDeviceMapping",
      "monitoring",
      "disableApiTermination",
      "disableApiStop",
      "clientToken",
    ]);
    const given = decode(
      "Action=RunInstances&ImageId=ami-1&MinCount=1&MaxCount=1&Monitoring.Enabled=true&DisableApiTermination=true",
    );
    assert.deepEqual(given?.["monitoring"], { enabled: true });
    assert.equal(given?.["disableApiTermination"], true);
  });

  it("list names CloudTrail uses that the model does not give", () => {
    assert.deepEqual(decode("Action=DescribeImages&Owner.1=self&ImageId.1=ami-1"), {
      imagesSet: { items: [{ imageId: "ami-1" }] },
      ownersSet: { items: [{ owner: "self" }] },
    });
    assert.deepEqual(decode("Action=DescribeSecurityGroups&GroupId.1=sg-1&GroupName.1=web"), {
      securityGroupIdSet: { items: [{ groupId: "sg-1" }] },
      securityGroupSet: { items: [{ groupName: "web" }] },
    });
    assert.deepEqual(
      decode(
        "Action=AuthorizeSecurityGroupIngress&GroupId=sg-1&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22" +
          "&IpPermissions.1.ToPort=22&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0",
      ),
      {
        groupId: "sg-1",
        ipPermissions: {
          items: [{ ipProtocol: "tcp", fromPort: 22, toPort: 22, ipRanges: { items: [{ cidrIp: "0.0.0.0/0" }] } }],
        },
      },
    );
    assert.deepEqual(decode("Action=DescribeSnapshots&Owner.1=self&RestorableBy.1=all&SnapshotId.1=snap-1"), {
      ownersSet: { items: [{ owner: "self" }] },
      sharedUsersSet: { items: [{ user: "all" }] },
      snapshotSet: { items: [{ snapshotId: "snap-1" }] },
    });
    assert.deepEqual(decode("Action=DescribeAddresses&AllocationId.1=eipalloc-1&PublicIp.1=192.0.2.1"), {
      allocationIdsSet: { items: [{ allocationId: "eipalloc-1" }] },
      publicIpsSet: { items: [{ publicIp: "192.0.2.1" }] },
    });
    assert.deepEqual(decode("Action=CreateTags&ResourceId.1=i-1&Tag.1.Key=a&Tag.1.Value=b"), {
      resourcesSet: { items: [{ resourceId: "i-1" }] },
      tagSet: { items: [{ key: "a", value: "b" }] },
    });
    assert.deepEqual(decode("Action=ModifyImageAttribute&ImageId=ami-1&LaunchPermission.Add.1.UserId=111122223333"), {
      imageId: "ami-1",
      launchPermission: { add: { items: [{ userId: "111122223333" }] } },
    });
    assert.deepEqual(decode("Action=DescribeInternetGateways&InternetGatewayId.1=igw-1&MaxResults=5"), {
      internetGatewayIdSet: { items: [{ internetGatewayId: "igw-1" }] },
      maxResults: 5,
    });
  });
});
