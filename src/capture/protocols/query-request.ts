/**
 * Decodes a query- or ec2-protocol request (`Action=…&Member.N=…` in a form body or URL) into
 * CloudTrail's requestParameters, driven by the operation's input shape from the service model:
 * member names lower-camel, numbers and booleans typed, `X.member.N` / `X.N` lists as arrays (query)
 * or EC2's `xSet: {items: [...]}` (ec2), maps as objects. Keys the model does not name are left out.
 */
import { lowerFirst } from "../../normalize/lower-camel.js";
import { resolveShape, shapeType, type ServiceModel, type ShapeRef } from "./model-types.js";
import { ec2RequestListName } from "./ec2-names.js";

/** Members every query request carries that are not parameters of the operation. */
const ENVELOPE_KEYS = new Set(["Action", "Version"]);

interface QueryDecodeContext {
  readonly model: ServiceModel;
  readonly params: ReadonlyMap<string, string>;
  /** Every dotted prefix of every key, so "is there anything under X.3" is one lookup. */
  readonly prefixes: ReadonlySet<string>;
  readonly ec2: boolean;
}

/** Form-decodes a body or query string into a key → value map (first value wins). */
export function parseQueryParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(text)) {
    if (!params.has(key)) params.set(key, value);
  }
  return params;
}

/**
 * @example decodeQueryRequest(model, input, parseQueryParams("Action=CreateCacheCluster&NumCacheNodes=2"))
 * // → { numCacheNodes: 2 }
 */
export function decodeQueryRequest(
  model: ServiceModel,
  input: ShapeRef | undefined,
  params: ReadonlyMap<string, string>,
): Record<string, unknown> | null {
  const prefixes = new Set<string>();
  for (const key of params.keys()) {
    if (ENVELOPE_KEYS.has(key) || key.startsWith("X-Amz-")) continue;
    for (let dot = key.indexOf("."); dot !== -1; dot = key.indexOf(".", dot + 1)) prefixes.add(key.slice(0, dot));
    prefixes.add(key);
  }
  const shape = resolveShape(model, input);
  if (shape === undefined || prefixes.size === 0) return null;
  const context: QueryDecodeContext = { model, params, prefixes, ec2: model.metadata.protocol === "ec2" };
  const decoded = decodeStructure(context, shape, "");
  return decoded === undefined || Object.keys(decoded).length === 0 ? null : decoded;
}

/** The key a member travels under: EC2 capitalises locationName unless queryName is given. */
function wireName(context: QueryDecodeContext, memberName: string, ref: ShapeRef): string {
  if (context.ec2) {
    if (ref.queryName !== undefined) return ref.queryName;
    const name = ref.locationName ?? memberName;
    return name.charAt(0).toUpperCase() + name.slice(1);
  }
  return ref.locationName ?? memberName;
}

/** The name CloudTrail logs a member under: EC2 uses its XML names, other query services the member name. */
function loggedName(context: QueryDecodeContext, memberName: string, ref: ShapeRef): string {
  return lowerFirst(context.ec2 ? (ref.locationName ?? memberName) : memberName);
}

function decodeStructure(
  context: QueryDecodeContext,
  shape: ShapeRef,
  prefix: string,
): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [memberName, ref] of Object.entries(shape.members ?? {})) {
    const key = prefix === "" ? wireName(context, memberName, ref) : `${prefix}.${wireName(context, memberName, ref)}`;
    if (!context.prefixes.has(key)) continue;
    const member = resolveShape(context.model, ref);
    if (member === undefined) continue;
    const value = decodeValue(context, member, key);
    if (value === undefined) continue;
    if (context.ec2 && shapeType(member) === "list") {
      const queryKey = wireName(context, memberName, ref);
      const list = ec2RequestListName(context.model, queryKey, parentListKey(prefix));
      const itemName = list.item ?? lowerFirst(queryKey);
      const items = ec2Items(value as unknown[], itemName);
      const logged = list.plain === true ? (items["items"] ?? []) : items;
      // Two query lists may share one logged list (RunInstances `SecurityGroupId.N`, `SecurityGroup.N`
      // are both `groupSet`): their items are merged.
      const earlier = out[list.name] as { items?: unknown[] } | undefined;
      if (!list.plain && Array.isArray(earlier?.items) && Array.isArray(items["items"])) {
        defineMember(out, list.name, { items: [...earlier.items, ...(items["items"] as unknown[])] });
      } else defineMember(out, list.name, logged);
    } else {
      defineMember(out, loggedName(context, memberName, ref), value);
    }
  }
  return out;
}

/** The query key of the structure a prefix is in: `TagSpecification.1` → `TagSpecification`, `` → undefined. */
function parentListKey(prefix: string): string | undefined {
  if (prefix === "") return undefined;
  const parts = prefix.split(".").filter((part) => !/^\d+$/.test(part));
  return parts[parts.length - 1];
}

/** EC2 logs lists as `{items: [...]}`, scalar items wrapped in an object named after the item. */
function ec2Items(values: unknown[], itemName: string): Record<string, unknown> {
  if (values.length === 0) return {};
  const items = values.map((value) => (typeof value === "object" && value !== null ? value : { [itemName]: value }));
  return { items };
}

function decodeValue(context: QueryDecodeContext, shape: ShapeRef, key: string): unknown {
  switch (shapeType(shape)) {
    case "structure":
      return decodeStructure(context, shape, key);
    case "list":
      return decodeList(context, shape, key);
    case "map":
      return decodeMap(context, shape, key);
    default: {
      const text = context.params.get(key);
      return text === undefined ? undefined : typedScalar(shapeType(shape), text);
    }
  }
}

function decodeList(context: QueryDecodeContext, shape: ShapeRef, key: string): unknown[] | undefined {
  const memberRef = shape.member ?? {};
  const member = resolveShape(context.model, memberRef) ?? {};
  // query: X.member.N (or X.<locationName>.N); flattened query lists and all EC2 lists: X.N.
  const itemPrefix = context.ec2 || shape.flattened === true ? key : `${key}.${memberRef.locationName ?? "member"}`;
  const items: unknown[] = [];
  for (let index = 1; context.prefixes.has(`${itemPrefix}.${index}`); index += 1) {
    const item = decodeValue(context, member, `${itemPrefix}.${index}`);
    if (item !== undefined) items.push(item);
  }
  // `X=` with an empty value is how the query protocol sends an empty list.
  if (items.length === 0 && context.params.get(key) !== "") return undefined;
  return items;
}

function decodeMap(context: QueryDecodeContext, shape: ShapeRef, key: string): Record<string, unknown> | undefined {
  const entryPrefix = shape.flattened === true ? key : `${key}.entry`;
  const keyName = shape.key?.locationName ?? "key";
  const valueName = shape.value?.locationName ?? "value";
  const valueShape = resolveShape(context.model, shape.value) ?? {};
  const out: Record<string, unknown> = {};
  for (let index = 1; context.prefixes.has(`${entryPrefix}.${index}`); index += 1) {
    const entryKey = context.params.get(`${entryPrefix}.${index}.${keyName}`);
    if (entryKey === undefined) continue;
    defineMember(out, entryKey, decodeValue(context, valueShape, `${entryPrefix}.${index}.${valueName}`));
  }
  return out;
}

/** Wire text → the JSON type CloudTrail logs: numbers and booleans typed, the rest as sent. */
export function typedScalar(type: string, text: string): unknown {
  switch (type) {
    case "integer":
    case "long":
    case "float":
    case "double": {
      const number = Number(text);
      return text.trim() !== "" && Number.isFinite(number) ? number : text;
    }
    case "boolean":
      return text === "true" ? true : text === "false" ? false : text;
    default:
      return text;
  }
}

/** defineProperty so a member named `__proto__` stays a member. */
export function defineMember(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
