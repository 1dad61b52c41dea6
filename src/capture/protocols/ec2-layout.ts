/**
 * Where CloudTrail's EC2 records put RunInstances members differs from the query keys, and what they
 * hold differs from what the client sent: EC2's XML schema (`RunInstancesType`) nests the image, the
 * counts and the key pair in `instancesSet.items[0]` (`RunInstancesInfoType`), and EC2 logs the
 * request after filling in the schema's defaults for members the client left out. CloudTrail's
 * RunInstances records all read:
 * `{"instancesSet": {"items": [{"imageId": "ami-…", "minCount": 1, "maxCount": 1}]}, "instanceType": …,
 *   "blockDeviceMapping": {}, "monitoring": {"enabled": false}, "disableApiTermination": false,
 *   "disableApiStop": false, …}`.
 * The service models flattened that schema and carry no defaults, so this layout is stated here.
 */
const RUN_INSTANCES_ITEM_MEMBERS = ["imageId", "minCount", "maxCount", "keyName"];

/** The members EC2 logs when the client omitted them, with the value it logs. */
const RUN_INSTANCES_DEFAULTS: Readonly<Record<string, unknown>> = {
  blockDeviceMapping: {},
  monitoring: { enabled: false },
  disableApiTermination: false,
  disableApiStop: false,
};

/** The order of CloudTrail's RunInstances requestParameters (the schema's); other members follow. */
const RUN_INSTANCES_ORDER = [
  "instancesSet",
  "instanceType",
  "blockDeviceMapping",
  "monitoring",
  "subnetId",
  "disableApiTermination",
  "disableApiStop",
  "clientToken",
  "networkInterfaceSet",
  "iamInstanceProfile",
  "ebsOptimized",
  "tagSpecificationSet",
  "creditSpecification",
  "hibernationOptions",
];

export function withEc2Layout(
  operationName: string,
  params: Record<string, unknown> | null,
): Record<string, unknown> | null {
  if (operationName !== "RunInstances" || params === null) return params;
  const item: Record<string, unknown> = {};
  const rest: Record<string, unknown> = { ...RUN_INSTANCES_DEFAULTS };
  for (const [name, value] of Object.entries(params)) {
    if (RUN_INSTANCES_ITEM_MEMBERS.includes(name)) item[name] = value;
    else rest[name] = value;
  }
  if (Object.keys(item).length > 0) rest["instancesSet"] = { items: [item] };
  const ordered: Record<string, unknown> = {};
  for (const name of RUN_INSTANCES_ORDER) if (name in rest) ordered[name] = rest[name];
  for (const [name, value] of Object.entries(rest)) if (!(name in ordered)) ordered[name] = value;
  return ordered;
}
