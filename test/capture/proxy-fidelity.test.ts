import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { awsCliMissingReason, runAws } from "../helpers/aws-cli.js";
import { type ServerProcess } from "../helpers/server-process.js";
import { motoMissingReason } from "../storage/moto-server.js";
import { recordsNamed, startProxyStack, type ProxyProcess, type ProxyStack } from "./proxy-process.js";

/**
 * Issue 4, fidelity: the AWS CLI → `cairn proxy` → moto_server, records read from the real server's
 * journal and compared with the shapes of CloudTrail's own records: S3 bodies and additionalEventData,
 * Route 53 changeBatch, Lambda's versioned event names, EC2 RunInstances defaults.
 */
const skip = awsCliMissingReason() || motoMissingReason();
const REGION = "us-east-1";

type EventRecord = Record<string, unknown> & {
  requestParameters?: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
  additionalEventData?: Record<string, unknown>;
};

describe("cairn proxy fidelity: rest-xml bodies, Lambda names, EC2 defaults, S3 additionalEventData", { skip }, () => {
  let server: ServerProcess | undefined;
  let proxy: ProxyProcess | undefined;
  let keys: { accessKeyId: string; secretAccessKey: string };
  let stack: ProxyStack | undefined;

  const cli = async (args: string[]): Promise<string> => {
    const result = await runAws(server!.dataDir, [...args, "--endpoint-url", proxy!.url], {
      AWS_ACCESS_KEY_ID: keys.accessKeyId,
      AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
      AWS_DEFAULT_REGION: REGION,
      AWS_MAX_ATTEMPTS: "1",
    });
    assert.equal(result.code, 0, `aws ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  };

  const recorded = async (eventSource: string, eventName: string): Promise<EventRecord> => {
    const [found] = await recordsNamed(server!, eventSource, eventName);
    assert.ok(found, `no ${eventName} event. Proxy output:\n${proxy?.output()}`);
    return found as EventRecord;
  };

  before(async () => {
    stack = await startProxyStack();
    ({ server, proxy, keys } = stack);
  });

  after(async () => {
    await stack?.stop();
  });

  it("S3 PutBucketTagging and PutObject: the body as CloudTrail logs it, additionalEventData", async () => {
    await cli(["s3api", "create-bucket", "--bucket", "fid-bk"]);
    await cli([
      "s3api",
      "put-bucket-tagging",
      "--bucket",
      "fid-bk",
      "--tagging",
      "TagSet=[{Key=StratusRedTeam,Value=true},{Key=team,Value=007}]",
    ]);
    const file = join(server!.dataDir, "object.bin");
    writeFileSync(file, Buffer.alloc(4096, 7));
    await cli(["s3api", "put-object", "--bucket", "fid-bk", "--key", "a/b.bin", "--body", file]);

    const tagging = await recorded("s3.amazonaws.com", "PutBucketTagging");
    const host = new URL(proxy!.url).host;
    assert.deepEqual(tagging.requestParameters, {
      bucketName: "fid-bk",
      Host: host,
      tagging: "",
      Tagging: {
        xmlns: "http://s3.amazonaws.com/doc/2006-03-01/",
        // Typed by look, as CloudTrail does ("true" → true); "007" stays text.
        TagSet: {
          Tag: [
            { Key: "StratusRedTeam", Value: true },
            { Key: "team", Value: "007" },
          ],
        },
      },
    });
    const aed = tagging.additionalEventData ?? {};
    assert.equal(aed["SignatureVersion"], "SigV4");
    assert.equal(aed["AuthenticationMethod"], "AuthHeader");
    assert.ok(typeof aed["bytesTransferredIn"] === "number" && aed["bytesTransferredIn"] > 100, JSON.stringify(aed));
    assert.equal(aed["bytesTransferredOut"], 0);
    assert.equal(aed["CipherSuite"], undefined, "plain HTTP: no CipherSuite");
    // moto sends no x-amz-id-2, so there is none to log.
    assert.deepEqual(Object.keys(aed), [
      "SignatureVersion",
      "bytesTransferredIn",
      "AuthenticationMethod",
      "bytesTransferredOut",
    ]);

    const put = await recorded("s3.amazonaws.com", "PutObject");
    assert.deepEqual(put.requestParameters, { bucketName: "fid-bk", Host: host, key: "a/b.bin" });
    assert.equal(put.additionalEventData?.["bytesTransferredIn"], 4096);
    assert.equal(put.additionalEventData?.["bytesTransferredOut"], 0);
  });

  it("Route 53 ChangeResourceRecordSets: changeBatch lower-camel with typed members", async () => {
    const created = JSON.parse(
      await cli(["route53", "create-hosted-zone", "--name", "example.com", "--caller-reference", "fid-1"]),
    ) as { HostedZone: { Id: string } };
    const zoneId = created.HostedZone.Id.replace("/hostedzone/", "");
    const batch = {
      Comment: "Adding subdomain",
      Changes: [
        {
          Action: "CREATE",
          ResourceRecordSet: {
            Name: "prod.example.com.",
            Type: "A",
            TTL: 86400,
            ResourceRecords: [{ Value: "192.0.2.1" }],
          },
        },
      ],
    };
    await cli([
      "route53",
      "change-resource-record-sets",
      "--hosted-zone-id",
      zoneId,
      "--change-batch",
      JSON.stringify(batch),
    ]);
    const event = await recorded("route53.amazonaws.com", "ChangeResourceRecordSets");
    assert.deepEqual(event.requestParameters, {
      hostedZoneId: zoneId,
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
    const changeInfo = event.responseElements?.["changeInfo"] as Record<string, unknown> | undefined;
    assert.ok(typeof changeInfo?.["id"] === "string", JSON.stringify(event.responseElements));
    const zone = await recorded("route53.amazonaws.com", "CreateHostedZone");
    assert.deepEqual(zone.requestParameters, { name: "example.com", callerReference: "fid-1" });
  });

  it("Lambda: ListFunctions20150331 as CloudTrail names it", async () => {
    await cli(["lambda", "list-functions"]);
    const event = await recorded("lambda.amazonaws.com", "ListFunctions20150331");
    assert.equal(event["readOnly"], true);
    assert.equal(event["eventCategory"], "Management");
  });

  it("EC2 RunInstances: instancesSet items and EC2's defaults for what the CLI left out", async () => {
    await cli(["ec2", "run-instances", "--image-id", "ami-12c6146b", "--count", "1", "--instance-type", "t2.micro"]);
    const event = await recorded("ec2.amazonaws.com", "RunInstances");
    const { clientToken, ...rest } = event.requestParameters ?? {};
    assert.ok(clientToken === undefined || typeof clientToken === "string");
    assert.deepEqual(rest, {
      instancesSet: { items: [{ imageId: "ami-12c6146b", minCount: 1, maxCount: 1 }] },
      instanceType: "t2.micro",
      blockDeviceMapping: {},
      monitoring: { enabled: false },
      disableApiTermination: false,
      disableApiStop: false,
    });
  });
});
