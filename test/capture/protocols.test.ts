import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ServiceModels } from "../../src/capture/protocols/service-models.js";
import { decodeQueryRequest, parseQueryParams } from "../../src/capture/protocols/query-request.js";
import { matchRestRoute } from "../../src/capture/protocols/rest-route.js";
import { ec2SetName } from "../../src/capture/protocols/ec2-names.js";
import { parseXml } from "../../src/capture/protocols/xml.js";
import type { ServiceModel } from "../../src/capture/protocols/model-types.js";

const models = new ServiceModels();
const model = (service: string): ServiceModel => {
  const found = models.candidates(service)[0];
  assert.ok(found, `no model for ${service}`);
  return found;
};

describe("protocol decoding from the aws-sdk service models", () => {
  it("finds models by SigV4 service name, preferring the file named after it", () => {
    assert.equal(model("rds").metadata.serviceId, "RDS");
    assert.equal(model("elasticache").metadata.protocol, "query");
    assert.equal(model("ssm").metadata.targetPrefix, "AmazonSSM");
    assert.equal(model("monitoring").metadata.endpointPrefix, "monitoring");
  });

  it("query: typed scalars, X.member.N lists and maps", () => {
    const sns = model("sns");
    const params = parseQueryParams(
      "Action=SetTopicAttributes&TopicArn=arn&AttributeName=Policy&AttributeValue=x&Version=2010-03-31",
    );
    assert.deepEqual(decodeQueryRequest(sns, sns.operations["SetTopicAttributes"]?.input, params), {
      topicArn: "arn",
      attributeName: "Policy",
      attributeValue: "x",
    });
    const elasticache = model("elasticache");
    const create = parseQueryParams(
      "Action=CreateCacheCluster&CacheClusterId=c&NumCacheNodes=2&AutoMinorVersionUpgrade=false" +
        "&SecurityGroupIds.SecurityGroupId.1=sg-1&SecurityGroupIds.SecurityGroupId.2=sg-2",
    );
    assert.deepEqual(decodeQueryRequest(elasticache, elasticache.operations["CreateCacheCluster"]?.input, create), {
      cacheClusterId: "c",
      numCacheNodes: 2,
      securityGroupIds: ["sg-1", "sg-2"],
      autoMinorVersionUpgrade: false,
    });
  });

  it("ec2: lists as CloudTrail's …Set {items}, named after EC2's XML schema", () => {
    const ec2 = model("ec2");
    assert.equal(ec2SetName(ec2, "instanceId"), "instancesSet");
    assert.equal(ec2SetName(ec2, "volumeId"), "volumeSet");
    assert.equal(ec2SetName(ec2, "filter"), "filterSet");
    const params = parseQueryParams("Action=DescribeInstances&Filter.1.Name=tag:a&Filter.1.Value.1=b&MaxResults=5");
    assert.deepEqual(decodeQueryRequest(ec2, ec2.operations["DescribeInstances"]?.input, params), {
      filterSet: { items: [{ name: "tag:a", valueSet: { items: [{ value: "b" }] } }] },
      maxResults: 5,
    });
  });

  it("rest-xml: S3 routes, disambiguated by required query members and headers", () => {
    const s3 = model("s3");
    const route = (method: string, path: string, query = "", headers: Record<string, string> = {}) =>
      matchRestRoute(s3, { method, path, query: new URLSearchParams(query), headers });
    assert.equal(route("PUT", "/b/a/b.txt")?.operation.name, "PutObject");
    assert.deepEqual(route("PUT", "/b/a/b.txt")?.labels, { Bucket: "b", Key: "a/b.txt" });
    assert.equal(route("PUT", "/b/k", "", { "x-amz-copy-source": "/b/o" })?.operation.name, "CopyObject");
    assert.equal(route("PUT", "/b/k", "partNumber=1&uploadId=u")?.operation.name, "UploadPart");
    assert.equal(route("GET", "/b", "list-type=2")?.operation.name, "ListObjectsV2");
    assert.equal(route("GET", "/b")?.operation.name, "ListObjects");
    assert.equal(route("PUT", "/b")?.operation.name, "CreateBucket");
    assert.equal(route("GET", "/b/k%20x")?.labels["Key"], "k x");
  });

  it("xml: elements, entities, CDATA, namespaces, self-closing tags", () => {
    const root = parseXml(
      '<?xml version="1.0"?><a:R xmlns:a="u"><x>1 &lt; 2 &amp;&#65;</x><y/><z><![CDATA[<raw>]]></z></a:R>',
    );
    assert.equal(root.name, "R");
    assert.deepEqual(
      root.children.map((child) => [child.name, child.text]),
      [
        ["x", "1 < 2 &A"],
        ["y", ""],
        ["z", "<raw>"],
      ],
    );
    assert.throws(() => parseXml("<a><b></a>"));
  });
});
