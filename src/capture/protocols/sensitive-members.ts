/**
 * CloudTrail never logs a value the service model marks `sensitive` (SSM parameter values, Secrets
 * Manager secrets, STS secret keys, SSE-C keys…). Here every such member of a decoded call, at any
 * depth, becomes the service's placeholder (`HIDDEN_DUE_TO_SECURITY_REASONS`, EC2's
 * `<sensitiveDataRemoved>`, RDS's `****`); a sensitive structure, list or map is replaced whole.
 * Runs on the operation's own input/output shapes, so before decode-call's single-result unwrap.
 * Exceptions CloudTrail's records show (members omitted, other texts) and the secret-name list
 * follow when the record is built (src/normalize/redact.ts).
 */
import { HIDDEN } from "../../normalize/redact.js";
import { REDACTION_EXCEPTIONS, SENSITIVE_PLACEHOLDERS } from "../../normalize/redaction-exceptions.js";
import { eventNameOf } from "./event-name.js";
import { resolveShape, shapeType, type Operation, type ServiceModel, type ShapeRef } from "./model-types.js";
import { rewriteByShape, type ModelMember } from "./shape-walk.js";

type RecordField = "requestParameters" | "responseElements";

/** The placeholder CloudTrail writes for a sensitive member of this service. */
function sensitivePlaceholderOf(model: ServiceModel): string {
  const eventSource = `${model.metadata.endpointPrefix}.amazonaws.com`;
  return SENSITIVE_PLACEHOLDERS.find((entry) => entry.eventSource === eventSource)?.placeholder ?? HIDDEN;
}

const isSensitive = (member: ModelMember): boolean => member.ref.sensitive === true || member.shape.sensitive === true;

/**
 * Top-level members the exceptions table keeps although the model marks them sensitive (S3's KMS
 * key ARN header), by every name the record may use, lower-cased.
 */
function keptNamesOf(model: ServiceModel, operation: Operation, field: RecordField): ReadonlySet<string> {
  const eventSource = `${model.metadata.endpointPrefix}.amazonaws.com`;
  const eventName = eventNameOf(model, operation);
  const kept = REDACTION_EXCEPTIONS.filter(
    (exception) =>
      "keep" in exception.action &&
      exception.field === field &&
      exception.eventSource === eventSource &&
      (exception.eventNames === "*" || exception.eventNames.includes(eventName)),
  );
  return new Set(kept.map((exception) => exception.path.toLowerCase()));
}

/**
 * `decoded` (requestParameters, walked with the operation's input shape, or responseElements, with
 * its output shape) with every sensitive member replaced. Copy-on-write; null stays null.
 *
 * @example hideSensitiveMembers(ssm, putParameter, "requestParameters", { name: "n", value: "s3cret" })
 * // → { name: "n", value: "HIDDEN_DUE_TO_SECURITY_REASONS" }
 */
export function hideSensitiveMembers(
  model: ServiceModel,
  operation: Operation,
  field: RecordField,
  decoded: Record<string, unknown> | null,
): Record<string, unknown> | null {
  if (decoded === null) return null;
  const shape = field === "requestParameters" ? operation.input : operation.output;
  const placeholder = sensitivePlaceholderOf(model);
  const kept = keptNamesOf(model, operation, field);
  const root = resolveShape(model, shape);
  const topLevel = new Set(Object.values(root?.members ?? {}));
  const isKept = (member: ModelMember): boolean =>
    topLevel.has(member.ref) &&
    [member.name, member.ref.locationName].some((name) => name !== undefined && kept.has(name.toLowerCase()));
  const hide = (value: unknown, member: ModelMember): unknown => {
    if (value === null || isKept(member)) return value;
    return isSensitive(member) ? placeholder : hideSensitiveItems(model, member.shape, value, placeholder);
  };
  const walked = rewriteByShape(model, shape, decoded, hide) as Record<string, unknown>;
  if (model.metadata.protocol !== "ec2") return walked;
  // EC2 requests log lists under names from EC2's XML schema (`TunnelOptions.N` → `tunnelOptionsSet`,
  // ec2-names.ts) that the model does not carry, so the walk cannot follow them: the names of the
  // input's sensitive members are hidden wherever they occur as well.
  const names = new Set([...sensitiveNamesOf(model, shape)].filter((name) => !kept.has(name)));
  return names.size === 0 ? walked : (hideNamed(walked, names, placeholder, 0) as Record<string, unknown>);
}

/**
 * A list whose items, or a map whose values, are sensitive (the walk offers only members to the
 * rewrite): every item or value replaced, a map with sensitive keys whole; `value` itself
 * otherwise, so the walk goes on into it.
 */
function hideSensitiveItems(model: ServiceModel, shape: ShapeRef, value: unknown, placeholder: string): unknown {
  const kind = shapeType(shape);
  // Sensitive keys (App Runner's environment variable names) cannot be kept: the map goes whole.
  if (kind === "map" && resolveShape(model, shape.key)?.sensitive === true) return placeholder;
  const inner = resolveShape(model, kind === "list" ? shape.member : kind === "map" ? shape.value : undefined);
  if (inner?.sensitive !== true || typeof value !== "object" || value === null) return value;
  const hideAll = (items: readonly unknown[]) => items.map((item) => (item === null ? item : placeholder));
  if (Array.isArray(value)) return hideAll(value);
  const object = value as Record<string, unknown>;
  if (kind === "list") return Array.isArray(object["items"]) ? { ...object, items: hideAll(object["items"]) } : value;
  return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, item === null ? item : placeholder]));
}

/** Keyed by the operation's shape reference, which the cached model keeps. */
const sensitiveNameCache = new WeakMap<object, ReadonlySet<string>>();

/** Every name (model name, locationName, queryName; lower-cased) of a sensitive member under `root`. */
function sensitiveNamesOf(model: ServiceModel, root: ShapeRef | undefined): ReadonlySet<string> {
  if (root === undefined) return new Set();
  const cached = sensitiveNameCache.get(root);
  if (cached !== undefined) return cached;
  const names = new Set<string>();
  const visited = new Set<string>();
  const visit = (ref: ShapeRef | undefined): void => {
    if (ref === undefined || (ref.shape !== undefined && visited.has(ref.shape))) return;
    if (ref.shape !== undefined) visited.add(ref.shape);
    const shape = resolveShape(model, ref);
    if (shape === undefined) return;
    const kind = shapeType(shape);
    if (kind === "list") return visit(shape.member);
    if (kind === "map") return visit(shape.value);
    for (const [name, member] of Object.entries(shape.members ?? {})) {
      const memberShape = resolveShape(model, member) ?? {};
      if (member.sensitive === true || memberShape.sensitive === true) {
        for (const alias of [name, member.locationName, member.queryName]) {
          if (alias !== undefined) names.add(alias.toLowerCase());
        }
      } else visit(member);
    }
  };
  visit(root);
  sensitiveNameCache.set(root, names);
  return names;
}

/** Deeper than any EC2 request nests; bounds the walk of a hostile value. */
const NAMED_DEPTH_MAX = 64;

function hideNamed(value: unknown, names: ReadonlySet<string>, placeholder: string, depth: number): unknown {
  if (typeof value !== "object" || value === null || depth >= NAMED_DEPTH_MAX) return value;
  if (Array.isArray(value)) {
    const items = value.map((item: unknown) => hideNamed(item, names, placeholder, depth + 1));
    return items.every((item, index) => item === value[index]) ? value : items;
  }
  const object = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(object)) {
    const member = object[key];
    const next =
      names.has(key.toLowerCase()) && member !== null && member !== placeholder
        ? placeholder
        : hideNamed(member, names, placeholder, depth + 1);
    if (next === member) continue;
    copy ??= { ...object };
    Object.defineProperty(copy, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return copy ?? object;
}
