/**
 * Input readers and name-or-ARN resolution shared by the trail operations. Every lookup is scoped to
 * the caller's account; which trails a region sees follows spec §5.3 (home region, plus multi-region
 * trails everywhere).
 */
import { ApiError } from "../../lib/api-error.js";
import type { OperationContext } from "../operation.js";
import { optionalString } from "../input.js";
import type { TrailConfig, TrailStore } from "../../stores/trails/index.js";
import { parseTrailReference, TRAIL_RESOURCE_TYPE, trailArnOf, type TrailReference } from "./trail-names.js";

export function optionalBoolean(input: Record<string, unknown>, member: string): boolean | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw new ApiError("SerializationException", `Member '${member}' must be a boolean.`);
  return value;
}

export function requiredString(input: Record<string, unknown>, member: string): string {
  const value = optionalString(input, member);
  if (value === undefined || value === "") throw new ApiError("InvalidParameterException", `${member} is required.`);
  return value;
}

/** Whether a region sees the trail: its home region, or every region for a multi-region trail. */
export function appliesToRegion(trail: TrailConfig, region: string): boolean {
  return trail.homeRegion === region || trail.isMultiRegionTrail;
}

export function readTrailReference(value: string): TrailReference {
  const parsed = parseTrailReference(value);
  if ("problem" in parsed) throw new ApiError(parsed.problem, parsed.message);
  return parsed.reference;
}

/**
 * A name finds the trail the request's region sees; an ARN finds that exact trail of the caller's
 * account from any region (spec §5.3: "Named lookups match only current-region trails unless an ARN
 * is given").
 */
export async function findTrail(
  trails: TrailStore,
  context: OperationContext,
  reference: TrailReference,
): Promise<TrailConfig | undefined> {
  if (reference.kind === "name") {
    const trail = await trails.get(context.accountId, reference.name);
    return trail !== undefined && appliesToRegion(trail, context.region) ? trail : undefined;
  }
  if (reference.accountId !== context.accountId) return undefined;
  const trail = await trails.get(context.accountId, reference.name);
  return trail?.trailArn === reference.arn ? trail : undefined;
}

export interface ResolveOptions {
  /** Mutations must run in the trail's home region (InvalidHomeRegionException). */
  readonly mutating: boolean;
  /** GetTrailStatus names the full ARN in its not-found message (spec §5.3). */
  readonly arnInNotFound?: boolean;
}

/** Reads a required name-or-ARN member and returns the trail, or throws the exception AWS answers. */
export async function resolveTrail(
  trails: TrailStore,
  input: Record<string, unknown>,
  member: string,
  context: OperationContext,
  options: ResolveOptions,
): Promise<TrailConfig> {
  const value = requiredString(input, member);
  const reference = readTrailReference(value);
  const trail = await findTrail(trails, context, reference);
  if (trail === undefined) {
    const shown =
      options.arnInNotFound === true && reference.kind === "name"
        ? trailArnOf(context.region, context.accountId, reference.name)
        : value;
    throw new ApiError("TrailNotFoundException", `Unknown trail: ${shown} for the user: ${context.accountId}`);
  }
  if (options.mutating && trail.homeRegion !== context.region) {
    throw new ApiError(
      "InvalidHomeRegionException",
      `The trail ${trail.trailArn} can only be changed in its home region ${trail.homeRegion}; this request was made in ${context.region}.`,
    );
  }
  return trail;
}

export function trailResources(trail: TrailConfig): Array<{ accountId: string; type: string; ARN: string }> {
  return [{ accountId: trail.accountId, type: TRAIL_RESOURCE_TYPE, ARN: trail.trailArn }];
}
