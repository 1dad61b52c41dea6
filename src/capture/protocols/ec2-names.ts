/**
 * EC2's CloudTrail records name request lists after EC2's XML schema, not the query keys:
 * `InstanceId.1=i-1` is logged as `instancesSet: {items: [{instanceId: "i-1"}]}`, `ImageId.N` as
 * `imagesSet`, `VolumeId.N` as `volumeSet`, `Filter.N` as `filterSet`. The service model keeps those
 * XML names on the *response* lists (`Reservation.Instances` is `instancesSet`), so the name is found
 * there: the list of the resource's own `Describe<Stem>s` response, else the most common `…Set` list
 * whose items carry the identifier and whose name starts with its stem. Anything else gets `<item>Set`.
 */
import { resolveShape, shapeType, type ServiceModel, type ShapeRef } from "./model-types.js";

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
