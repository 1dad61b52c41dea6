import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ServiceModels } from "../../src/capture/protocols/service-models.js";
import { ec2SetName } from "../../src/capture/protocols/ec2-names.js";
import { withEc2Layout } from "../../src/capture/protocols/ec2-layout.js";
import { decodeQueryRequest, parseQueryParams } from "../../src/capture/protocols/query-request.js";

/** EC2 requestParameters laid out as CloudTrail writes them (names from EC2's XML schema). */
describe("EC2 request layout", () => {
  const model = new ServiceModels().candidates("ec2")[0]!;
  const decode = (operation: string, query: string): Record<string, unknown> | null =>
    withEc2Layout(operation, decodeQueryRequest(model, model.operations[operation]?.input, parseQueryParams(query)));

  it("RunInstances: imageId, minCount, maxCount inside instancesSet.items, as in CloudTrail's records", () => {
    assert.deepEqual(
      decode("RunInstances", "Action=RunInstances&ImageId=ami-1&MinCount=1&MaxCount=10&InstanceType=p2.xlarge"),
      {
        instancesSet: { items: [{ imageId: "ami-1", minCount: 1, maxCount: 10 }] },
        instanceType: "p2.xlarge",
        // EC2 logs its defaults for what the client left out (invictus-sigma-aws RunInstances).
        blockDeviceMapping: {},
        monitoring: { enabled: false },
        disableApiTermination: false,
        disableApiStop: false,
      },
    );
  });

  it("list names come from the resource's own Describe response: imagesSet, volumeSet, instancesSet", () => {
    assert.equal(ec2SetName(model, "imageId"), "imagesSet");
    assert.equal(ec2SetName(model, "volumeId"), "volumeSet");
    assert.equal(ec2SetName(model, "snapshotId"), "snapshotSet");
    assert.equal(ec2SetName(model, "instanceId"), "instancesSet");
    assert.deepEqual(decode("DescribeImages", "Action=DescribeImages&ImageId.1=ami-1"), {
      imagesSet: { items: [{ imageId: "ami-1" }] },
    });
  });

  it("other operations are untouched", () => {
    assert.deepEqual(decode("TerminateInstances", "Action=TerminateInstances&InstanceId.1=i-1"), {
      instancesSet: { items: [{ instanceId: "i-1" }] },
    });
  });
});
