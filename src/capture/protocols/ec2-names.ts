/**
 * EC2's CloudTrail records name request lists after EC2's XML schema, not the query keys:
 * `InstanceId.1=i-1` is logged as `instancesSet: {items: [{instanceId: "i-1"}]}`, `ImageId.N` as
 * `imagesSet`, `VolumeId.N` as `volumeSet`, `Filter.N` as `filterSet`. The service model keeps those
 * XML names on the *response* lists (`Reservation.Instances` is `instancesSet`), so the name is found
 * there: the list of the resource's own `Describe<Stem>s` response, else the most common `…Set` list
 * whose items carry the identifier and whose name starts with its stem. Anything else gets `<item>Set`.
 */
import { resolveShape, shapeType, type ServiceModel, type ShapeRef } from "./model-types.js";

/**
 * Request lists whose CloudTrail name no part of the model carries: EC2's XML schema named them when
 * the query API was first written (`Owner.N` → `ownersSet`, `RestorableBy.N` → `sharedUsersSet` of
 * `{user}`), and some are not `…Set`s at all (`IpPermissions` → `ipPermissions`, `BlockDeviceMapping`
 * → `blockDeviceMapping`). Each entry is a name seen in CloudTrail's EC2 records (the shared samples:
 * DescribeImages, DescribeSnapshots, DescribeAddresses, CreateTags, DescribeSecurityGroups,
 * CreateNetworkInterface, AuthorizeSecurityGroupIngress, RegisterImage, ModifyImageAttribute…);
 * any other list keeps the name derived from the model below. Keyed by the query key of the list,
 * `<parent>/<key>` when the name depends on where the list sits.
 */
const REQUEST_LIST_NAMES: Readonly<Record<string, Ec2ListName>> = {
  IpPermissions: { name: "ipPermissions" },
  IpRanges: { name: "ipRanges" },
  Ipv6Ranges: { name: "ipv6Ranges" },
  PrefixListIds: { name: "prefixListIds" },
  BlockDeviceMapping: { name: "blockDeviceMapping" },
  Owner: { name: "ownersSet" },
  RestorableBy: { name: "sharedUsersSet", item: "user" },
  AllocationId: { name: "allocationIdsSet" },
  PublicIp: { name: "publicIpsSet" },
  ResourceId: { name: "resourcesSet" },
  AttributeName: { name: "accountAttributeNameSet" },
  InternetGatewayId: { name: "internetGatewayIdSet" },
  RouteTableId: { name: "routeTableIdSet" },
  NetworkInterfaceId: { name: "networkInterfaceIdSet" },
  GroupId: { name: "securityGroupIdSet" },
  GroupName: { name: "securityGroupSet" },
  SecurityGroupId: { name: "groupSet", item: "groupId" },
  SecurityGroup: { name: "groupSet", item: "groupName" },
  "LaunchPermission/Add": { name: "add" },
  "LaunchPermission/Remove": { name: "remove" },
  "CreateVolumePermission/Add": { name: "add" },
  "CreateVolumePermission/Remove": { name: "remove" },
  // Tags inside a tag specification are a plain array: `tagSpecificationSet.items[].tags[]`.
  "TagSpecification/Tag": { name: "tags", plain: true },
};

/** How an EC2 request list is logged: its name, its scalar items' name, `{items}` or a plain array. */
export interface Ec2ListName {
  readonly name: string;
  readonly item?: string;
  readonly plain?: boolean;
}

/**
 * @example ec2RequestListName(ec2Model, "Owner", undefined) // → { name: "ownersSet" }
 * @example ec2RequestListName(ec2Model, "Tag", "TagSpecification") // → { name: "tags", plain: true }
 * @example ec2RequestListName(ec2Model, "InstanceId", undefined) // → { name: "instancesSet" }
 */
export function ec2RequestListName(model: ServiceModel, queryKey: string, parentKey: string | undefined): Ec2ListName {
  const named =
    (parentKey === undefined ? undefined : REQUEST_LIST_NAMES[`${parentKey}/${queryKey}`]) ??
    (Object.prototype.hasOwnProperty.call(REQUEST_LIST_NAMES, queryKey) ? REQUEST_LIST_NAMES[queryKey] : undefined);
  if (named !== undefined) return named;
  const itemName = queryKey.charAt(0).toLowerCase() + queryKey.slice(1);
  return { name: ec2SetName(model, itemName) };
}

/** itemName (`instanceId`) → `…Set` list name → how many lists of that name carry it. */
type SetIndex = Map<string, Map<string, number>>;

const indexByModel = new WeakMap<ServiceModel, SetIndex>();

function setNamesByItemMember(model: ServiceModel): SetIndex {
  const cached = indexByModel.get(model);
  if (cached !== undefined) return cached;
  const index: SetIndex = new Map();
  const visit = (ref: ShapeRef): void => {
    for (const memberRef of Object.values(ref.members ?? {})) {
      const name = memberRef.locationName;
      const member = resolveShape(model, memberRef);
      if (name === undefined || !name.endsWith("Set") || member === undefined || shapeType(member) !== "list") continue;
      const item = resolveShape(model, member.member);
      for (const itemRef of Object.values(item?.members ?? {})) {
        const itemMember = itemRef.locationName;
        if (itemMember === undefined) continue;
        const names = index.get(itemMember) ?? new Map<string, number>();
        names.set(name, (names.get(name) ?? 0) + 1);
        index.set(itemMember, names);
      }
    }
  };
  for (const shape of Object.values(model.shapes)) visit(shape);
  for (const operation of Object.values(model.operations)) {
    if (operation.output !== undefined) visit(resolveShape(model, operation.output) ?? {});
  }
  indexByModel.set(model, index);
  return index;
}

/**
 * @example ec2SetName(ec2Model, "instanceId") // → "instancesSet"
 * @example ec2SetName(ec2Model, "filter") // → "filterSet"
 */
export function ec2SetName(model: ServiceModel, itemName: string): string {
  const stem = itemName.replace(/(Id|Name)$/, "");
  if (stem !== itemName && stem !== "") {
    // The resource's own Describe call names its list best (`DescribeImages` → `imagesSet`, where
    // an import-task response also has an `imageSet`); counting decides only when there is none.
    const own = describeListName(model, stem, itemName);
    if (own !== undefined) return own;
    // The most used name wins (`instancesSet`: Reservation, Start/Stop/TerminateInstances…).
    const candidates = [...(setNamesByItemMember(model).get(itemName) ?? new Map<string, number>())]
      .filter(([name]) => name.startsWith(stem))
      .sort(([a, countA], [b, countB]) => countB - countA || a.length - b.length || a.localeCompare(b));
    if (candidates[0] !== undefined) return candidates[0][0];
  }
  return `${itemName}Set`;
}

/** The `…Set` list of `Describe<Stem>s`'s response whose items carry `itemName`, if there is one. */
function describeListName(model: ServiceModel, stem: string, itemName: string): string | undefined {
  const operation = model.operations[`Describe${stem.charAt(0).toUpperCase()}${stem.slice(1)}s`];
  const output = operation?.output === undefined ? undefined : resolveShape(model, operation.output);
  for (const ref of Object.values(output?.members ?? {})) {
    const list = resolveShape(model, ref);
    if (ref.locationName === undefined || !ref.locationName.endsWith("Set") || list === undefined) continue;
    if (shapeType(list) !== "list") continue;
    const item = resolveShape(model, list.member);
    if (Object.values(item?.members ?? {}).some((member) => member.locationName === itemName)) return ref.locationName;
  }
  return undefined;
}
