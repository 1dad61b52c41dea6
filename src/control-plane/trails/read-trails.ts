/** GetTrail, DescribeTrails and ListTrails (spec §5.3, §5.4): read-only, scoped to the caller's account. */
import { ApiError } from "../../lib/api-error.js";
import type { OperationContext, OperationHandler } from "../operation.js";
import { optionalList, optionalString } from "../input.js";
import type { TrailConfig } from "../../stores/trails/index.js";
import type { TrailOperationDeps } from "./trail-deps.js";
import {
  appliesToRegion,
  findTrail,
  optionalBoolean,
  readTrailReference,
  resolveTrail,
  trailResources,
} from "./trail-input.js";
import { describeTrail } from "./trail-shapes.js";

const LIST_TRAILS_PAGE_SIZE = 50;

export function getTrailOperation(deps: TrailOperationDeps): OperationHandler {
  return async function getTrail(input: Record<string, unknown>, context: OperationContext) {
    const trail = await resolveTrail(deps.trails, input, "Name", context, { mutating: false });
    return { output: { Trail: describeTrail(trail) }, resources: trailResources(trail) };
  };
}

/**
 * DescribeTrails (camelCase members): without names, the region's own trails plus, when
 * `includeShadowTrails` (default true), the multi-region trails homed elsewhere. Names that match no
 * trail are skipped, not errors.
 */
export function describeTrailsOperation(deps: TrailOperationDeps): OperationHandler {
  return async function describeTrails(input: Record<string, unknown>, context: OperationContext) {
    const includeShadows = optionalBoolean(input, "includeShadowTrails") ?? true;
    const names = (optionalList(input, "trailNameList") ?? []).map((value, index) => {
      if (typeof value !== "string")
        throw new ApiError("SerializationException", `Member 'trailNameList[${index}]' must be a string.`);
      return readTrailReference(value);
    });
    const isShown = (trail: TrailConfig): boolean =>
      trail.homeRegion === context.region || (includeShadows && appliesToRegion(trail, context.region));
    let trails: TrailConfig[];
    if (names.length === 0) {
      trails = (await deps.trails.list(context.accountId)).filter(isShown);
    } else {
      const found = new Map<string, TrailConfig>();
      for (const reference of names) {
        const trail = await findTrail(deps.trails, context, reference);
        // An ARN names its trail wherever it lives; a name only what this region shows.
        if (trail !== undefined && (reference.kind === "arn" || isShown(trail))) found.set(trail.trailArn, trail);
      }
      trails = [...found.values()];
    }
    return { output: { trailList: trails.map(describeTrail) } };
  };
}

function encodeToken(trailArn: string): string {
  return Buffer.from(trailArn, "utf8").toString("base64url");
}

function decodeToken(token: string): string {
  const arn = Buffer.from(token, "base64url").toString("utf8");
  if (!arn.startsWith("arn:") || encodeToken(arn) !== token)
    throw new ApiError("InvalidNextTokenException", "The NextToken is not valid.");
  return arn;
}

/** ListTrails: every trail of the account, in every region (hence HomeRegion), ordered by ARN. */
export function listTrailsOperation(deps: TrailOperationDeps): OperationHandler {
  return async function listTrails(input: Record<string, unknown>, context: OperationContext) {
    const token = optionalString(input, "NextToken");
    const after = token === undefined ? undefined : decodeToken(token);
    const all = (await deps.trails.list(context.accountId))
      .sort((a, b) => (a.trailArn < b.trailArn ? -1 : a.trailArn > b.trailArn ? 1 : 0))
      .filter((trail) => after === undefined || trail.trailArn > after);
    const page = all.slice(0, LIST_TRAILS_PAGE_SIZE);
    const more = all.length > page.length;
    return {
      output: {
        Trails: page.map((t) => ({ TrailARN: t.trailArn, Name: t.name, HomeRegion: t.homeRegion })),
        ...(more ? { NextToken: encodeToken(page[page.length - 1]!.trailArn) } : {}),
      },
    };
  };
}
