import { recordAccountId, type CloudTrailRecord } from "../../model/record.js";
import type { LookupResource } from "./event-history.js";
import { ARN_NAMED_TYPES, RESOURCE_RULES, arnOf, nameOfArn, ruleOfArn, type ResourceRule } from "./resource-rules.js";

/**
 * LookupEvents `Resources` (spec §4.2): the record's `resources[]` plus what the service's members name
 * (resource-rules.ts). Runs for every indexed event and again at query time, so it is bounded: at most
 * RESOURCES_MAX resources, members looked for no deeper than DEPTH_MAX, at most NODES_MAX values visited.
 */
const RESOURCES_MAX = 50;
const DEPTH_MAX = 6;
const NODES_MAX = 2000;

/**
 * The other form a resource is found by: its ARN when ResourceName shows the name or id, the name when
 * ResourceName shows the ARN. A non-enumerable symbol property, so it is never serialized (LookupEvents
 * answers with ResourceType and ResourceName only) nor structured-cloned, yet a ResourceName lookup
 * matches either form. (A WeakMap halved indexing throughput in the derivation benchmark: GC cost.)
 */
const OTHER_NAME = Symbol("otherResourceName");

type WithOtherName = LookupResource & { readonly [OTHER_NAME]?: string };

function setOtherName(resource: LookupResource, other: string): void {
  Object.defineProperty(resource, OTHER_NAME, { value: other, enumerable: false });
}

/** The resource's other ResourceName form (ARN or name/id) a lookup also matches, when it has one. */
export function otherResourceName(resource: LookupResource): string | undefined {
  return (resource as WithOtherName)[OTHER_NAME];
}

interface Collector {
  readonly out: LookupResource[];
  readonly byKey: Map<string, LookupResource>;
  readonly region: string;
  readonly accountId: string;
  nodesLeft: number;
}

function addResource(collector: Collector, type: string | undefined, name: string, arn: string | undefined): void {
  const shown = type !== undefined && ARN_NAMED_TYPES.has(type) && arn !== undefined ? arn : name;
  const other = shown === arn ? (name !== arn ? name : undefined) : arn;
  const key = `${type ?? ""}\u0000${shown}`;
  const existing = collector.byKey.get(key);
  if (existing !== undefined) {
    if (other !== undefined && otherResourceName(existing) === undefined) setOtherName(existing, other);
    return;
  }
  if (collector.out.length >= RESOURCES_MAX) return;
  const resource: LookupResource =
    type === undefined ? { ResourceName: shown } : { ResourceType: type, ResourceName: shown };
  if (other !== undefined) setOtherName(resource, other);
  collector.byKey.set(key, resource);
  collector.out.push(resource);
}

/** A value named by a rule: an ARN (its name derived) or a name/id (its ARN built when the rule can). */
function addNamed(collector: Collector, rule: ResourceRule, value: string): void {
  if (value.startsWith("arn:")) addResource(collector, rule.type, nameOfArn(value, rule.type), value);
  else addResource(collector, rule.type, value, arnOf(rule, value, collector.region, collector.accountId));
}

function addValues(collector: Collector, rule: ResourceRule, value: unknown): void {
  if (typeof value === "string") {
    if (value !== "") addNamed(collector, rule, value);
    return;
  }
  if (!Array.isArray(value)) return;
  for (const item of value) if (typeof item === "string" && item !== "") addNamed(collector, rule, item);
}

type Members = NonNullable<ReturnType<typeof RESOURCE_RULES.get>>;

/** Looks through request or response members for those the service's rules name, depth-first. */
function walk(collector: Collector, members: Members, eventName: string, value: unknown, depth: number): void {
  if (depth > DEPTH_MAX || typeof value !== "object" || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) {
      if (--collector.nodesLeft < 0) return;
      walk(collector, members, eventName, item, depth + 1);
    }
    return;
  }
  for (const key in value) {
    if (--collector.nodesLeft < 0 || collector.out.length >= RESOURCES_MAX) return;
    const child = (value as Record<string, unknown>)[key];
    const memberRule = members.get(key);
    const rule =
      typeof memberRule === "function"
        ? typeof child === "string"
          ? memberRule(eventName, child)
          : undefined
        : memberRule;
    if (rule !== undefined) addValues(collector, rule, child);
    else walk(collector, members, eventName, child, depth + 1);
  }
}

function addRecordResources(collector: Collector, resources: unknown): void {
  if (!Array.isArray(resources)) return;
  for (const resource of resources as unknown[]) {
    if (typeof resource !== "object" || resource === null) continue;
    const { type, ARN, ARNPrefix } = resource as Record<string, unknown>;
    const declared = typeof type === "string" && type !== "" ? type : undefined;
    if (typeof ARN === "string" && ARN !== "") {
      const resolved = declared ?? ruleOfArn(ARN)?.type;
      addResource(collector, resolved, resolved === undefined ? ARN : nameOfArn(ARN, resolved), ARN);
    } else if (typeof ARNPrefix === "string" && ARNPrefix !== "") {
      addResource(collector, declared, ARNPrefix, undefined);
    } else if (declared !== undefined && !collector.byKey.has(declared) && collector.out.length < RESOURCES_MAX) {
      const typeOnly = { ResourceType: declared };
      collector.byKey.set(declared, typeOnly);
      collector.out.push(typeOnly);
    }
  }
}

/** Resources "referenced by the event", each once, the record's own first. */
export function deriveResources(record: CloudTrailRecord): LookupResource[] {
  const collector: Collector = {
    out: [],
    byKey: new Map(),
    region: typeof record.awsRegion === "string" ? record.awsRegion : "",
    accountId: recordAccountId(record),
    nodesLeft: NODES_MAX,
  };
  addRecordResources(collector, record.resources);
  const members = RESOURCE_RULES.get(record.eventSource);
  if (members !== undefined) {
    const eventName = typeof record.eventName === "string" ? record.eventName : "";
    walk(collector, members, eventName, record.requestParameters, 0);
    walk(collector, members, eventName, record.responseElements, 0);
  }
  return collector.out;
}
