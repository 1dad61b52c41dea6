/**
 * Where CloudTrail's EC2 records put members differs from the query keys for RunInstances: EC2's XML
 * schema (`RunInstancesType`) nests the image, the counts and the key pair in
 * `instancesSet.items[0]` (`RunInstancesInfoType`), and CloudTrail logs them there:
 * `{"instancesSet": {"items": [{"imageId": "ami-…", "minCount": 1, "maxCount": 1}]}, "instanceType": …}`.
 * The service models flattened that schema, so this one move is stated here.
 */
const RUN_INSTANCES_ITEM_MEMBERS = ["imageId", "minCount", "maxCount", "keyName"];

export function withEc2Layout(
  operationName: string,
  params: Record<string, unknown> | null,
): Record<string, unknown> | null {
  if (operationName !== "RunInstances" || params === null) return params;
  const item: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params)) {
    if (RUN_INSTANCES_ITEM_MEMBERS.includes(name)) item[name] = value;
    else rest[name] = value;
  }
  return Object.keys(item).length === 0 ? params : { ...rest, instancesSet: { items: [item] } };
}
