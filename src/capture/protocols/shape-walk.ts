/**
 * Walks a decoded requestParameters / responseElements value alongside the operation's model shape,
 * so per-member rules (sensitive members, timestamp rendering) apply however a protocol named the
 * member on the wire. A record names a member by its model name lower-first (`masterUserPassword`),
 * as-is (S3 query parameters), or by its wire name (EC2's `keyMaterial`, S3's `x-amz-*` headers);
 * matching is case-insensitive over all of them. Keys no model member claims are left untouched.
 */
import { resolveShape, shapeType, type ServiceModel, type ShapeRef } from "./model-types.js";

/** Returned by a rewrite to drop the member from the record. */
export const OMIT_MEMBER: unique symbol = Symbol("omit member");

export interface ModelMember {
  /** The member's own reference (its `locationName`, `sensitive`, `timestampFormat` live here too). */
  readonly ref: ShapeRef;
  /** The member's shape with references followed. */
  readonly shape: ShapeRef;
  /** The member's name in the model (PascalCase for most services). */
  readonly name: string;
}

/**
 * Decides a member's fate: return `value` itself to keep it and walk into it, `OMIT_MEMBER` to drop
 * it, anything else to replace it (the replacement is not walked).
 */
export type MemberRewrite = (value: unknown, member: ModelMember) => unknown;

/** Deeper than any real model nests; bounds the walk of a recursive shape over a hostile value. */
const WALK_DEPTH_MAX = 64;

/**
 * `value` with `rewrite` applied to every member the model describes, at any depth. Copy-on-write:
 * unchanged subtrees keep their identity and the input is never mutated.
 */
export function rewriteByShape(
  model: ServiceModel,
  root: ShapeRef | undefined,
  value: unknown,
  rewrite: MemberRewrite,
): unknown {
  const shape = resolveShape(model, root);
  return shape === undefined ? value : walkValue({ model, rewrite }, shape, value, 0);
}

interface Walk {
  readonly model: ServiceModel;
  readonly rewrite: MemberRewrite;
}

function walkValue(walk: Walk, shape: ShapeRef, value: unknown, depth: number): unknown {
  if (typeof value !== "object" || value === null || depth >= WALK_DEPTH_MAX) return value;
  switch (shapeType(shape)) {
    case "structure":
      return Array.isArray(value) ? value : walkStructure(walk, shape, value as Record<string, unknown>, depth);
    case "list":
      return walkList(walk, shape, value, depth);
    case "map":
      return Array.isArray(value) ? value : walkMap(walk, shape, value as Record<string, unknown>, depth);
    default:
      return value;
  }
}

function walkStructure(walk: Walk, shape: ShapeRef, object: Record<string, unknown>, depth: number) {
  const members = memberIndex(shape);
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(object)) {
    const found = members.get(key.toLowerCase());
    if (found === undefined) continue;
    const current = object[key];
    const memberShape = resolveShape(walk.model, found.ref) ?? {};
    const member: ModelMember = { ref: found.ref, shape: memberShape, name: found.name };
    const decided = walk.rewrite(current, member);
    const next = decided === current ? walkValue(walk, memberShape, current, depth + 1) : decided;
    if (next === current) continue;
    copy ??= { ...object };
    if (next === OMIT_MEMBER) delete copy[key];
    else Object.defineProperty(copy, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return copy ?? object;
}

/** A list as JSON protocols write it (an array) or as EC2's records do (`{items: [...]}`). */
function walkList(walk: Walk, shape: ShapeRef, value: object, depth: number): unknown {
  const itemShape = resolveShape(walk.model, shape.member) ?? {};
  if (Array.isArray(value)) return walkArray(walk, itemShape, value, depth);
  const items = (value as { items?: unknown }).items;
  if (!Array.isArray(items)) return value;
  const walked = walkArray(walk, itemShape, items, depth);
  return walked === items ? value : { ...value, items: walked };
}

function walkArray(walk: Walk, itemShape: ShapeRef, items: readonly unknown[], depth: number): readonly unknown[] {
  let copy: unknown[] | undefined;
  items.forEach((item, index) => {
    const next = walkValue(walk, itemShape, item, depth + 1);
    if (next === item) return;
    copy ??= items.slice();
    copy[index] = next;
  });
  return copy ?? items;
}

function walkMap(walk: Walk, shape: ShapeRef, object: Record<string, unknown>, depth: number) {
  const valueShape = resolveShape(walk.model, shape.value) ?? {};
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(object)) {
    const current = object[key];
    const next = walkValue(walk, valueShape, current, depth + 1);
    if (next === current) continue;
    copy ??= { ...object };
    Object.defineProperty(copy, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return copy ?? object;
}

interface IndexedMember {
  readonly ref: ShapeRef;
  readonly name: string;
}

/** Keyed by a structure's `members` object, which resolved copies of one model shape share. */
const memberIndexes = new WeakMap<object, ReadonlyMap<string, IndexedMember>>();

/** Every name a record may use for each member, lower-cased. */
function memberIndex(shape: ShapeRef): ReadonlyMap<string, IndexedMember> {
  const members = shape.members ?? {};
  const cached = memberIndexes.get(members);
  if (cached !== undefined) return cached;
  const index = new Map<string, IndexedMember>();
  for (const [name, ref] of Object.entries(members)) {
    for (const alias of [ref.queryName, ref.locationName, name]) {
      if (alias !== undefined) index.set(alias.toLowerCase(), { ref, name });
    }
  }
  memberIndexes.set(members, index);
  return index;
}
