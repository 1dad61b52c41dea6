/** CreateTrail and UpdateTrail (spec §5.3, §5.4). */
import { ApiError } from "../../lib/api-error.js";
import type { OperationContext, OperationHandler } from "../operation.js";
import { optionalString } from "../input.js";
import { toLowerCamelKeys } from "../../normalize/lower-camel.js";
import { DEFAULT_BASIC_SELECTOR } from "../../selectors/basic-selectors.js";
import { TrailAlreadyExistsError, type TrailConfig } from "../../stores/trails/index.js";
import { trailArnOf, trailNameProblem } from "./trail-names.js";
import { readTagsList, mergeTags } from "./tag-rules.js";
import { DEFAULT_MAX_TRAILS_PER_REGION, type TrailOperationDeps } from "./trail-deps.js";
import { optionalBoolean, requiredString, resolveTrail, trailResources } from "./trail-input.js";
import { checkTrailQuota, checkTrailSettings, ensureTrailBucket } from "./trail-settings.js";
import { claimBucket, refuseForeignBucket } from "../bucket-access.js";
import { trailWriteOutput } from "./trail-shapes.js";
import { checkTrailTopic } from "./trail-topic.js";

/** Optional string settings: on UpdateTrail an empty string clears the setting, as in AWS. */
const OPTIONAL_SETTINGS = [
  ["S3KeyPrefix", "s3KeyPrefix"],
  ["SnsTopicName", "snsTopicName"],
  ["KmsKeyId", "kmsKeyId"],
  ["CloudWatchLogsLogGroupArn", "cloudWatchLogsLogGroupArn"],
  ["CloudWatchLogsRoleArn", "cloudWatchLogsRoleArn"],
] as const;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function applyOptionalSettings(target: Mutable<TrailConfig>, input: Record<string, unknown>): void {
  for (const [member, field] of OPTIONAL_SETTINGS) {
    const value = optionalString(input, member);
    if (value === undefined) continue;
    if (value === "") delete target[field];
    else target[field] = value;
  }
}

function writeResult(trail: TrailConfig) {
  const output = trailWriteOutput(trail);
  return {
    output,
    responseElements: toLowerCamelKeys(output) as Record<string, unknown>,
    resources: trailResources(trail),
  };
}

/**
 * The trail's bucket must be the caller's account's, or no account's yet (it becomes the caller's):
 * a bucket another account owns is refused before it is looked at, and nothing is created or stored.
 */
async function useTrailBucket(deps: TrailOperationDeps, bucket: string, accountId: string): Promise<void> {
  await refuseForeignBucket(deps.owners, bucket, accountId, "InsufficientS3BucketPolicyException");
  await ensureTrailBucket(deps.objectStore, bucket, deps.createMissingBuckets);
  await claimBucket(deps.owners, bucket, accountId, "InsufficientS3BucketPolicyException");
}

export function createTrailOperation(deps: TrailOperationDeps): OperationHandler {
  const maxTrails = deps.maxTrailsPerRegion ?? DEFAULT_MAX_TRAILS_PER_REGION;
  return async function createTrail(input: Record<string, unknown>, context: OperationContext) {
    const name = requiredString(input, "Name");
    // CreateTrail names a new trail, so an ARN is refused like any name with ':' in it.
    const nameProblem = trailNameProblem(name);
    if (nameProblem !== undefined) throw new ApiError("InvalidTrailNameException", nameProblem);
    const trail: Mutable<TrailConfig> = {
      accountId: context.accountId,
      name,
      homeRegion: context.region,
      trailArn: trailArnOf(context.region, context.accountId, name),
      s3BucketName: requiredString(input, "S3BucketName"),
      includeGlobalServiceEvents: optionalBoolean(input, "IncludeGlobalServiceEvents") ?? true,
      isMultiRegionTrail: optionalBoolean(input, "IsMultiRegionTrail") ?? false,
      isOrganizationTrail: optionalBoolean(input, "IsOrganizationTrail") ?? false,
      logFileValidationEnabled: optionalBoolean(input, "EnableLogFileValidation") ?? false,
      eventSelectors: [DEFAULT_BASIC_SELECTOR],
      hasCustomEventSelectors: false,
      tags: mergeTags([], readTagsList(input, "TagsList", false)),
      isLogging: false,
      createdAtMs: deps.clock.nowMs(),
    };
    applyOptionalSettings(trail, input);
    checkTrailSettings(trail);
    if ((await deps.trails.get(context.accountId, name)) !== undefined)
      throw new ApiError(
        "TrailAlreadyExistsException",
        `Trail ${name} already exists for customer: ${context.accountId}`,
      );
    const quota = (accountTrails: readonly TrailConfig[]) => checkTrailQuota(accountTrails, trail, maxTrails);
    quota(await deps.trails.list(context.accountId));
    // Before the bucket is claimed: a refused topic leaves nothing created or changed.
    await checkTrailTopic(deps.snsTopics, trail);
    await useTrailBucket(deps, trail.s3BucketName, context.accountId);
    // The checks above answer early; these, atomic with the insert, decide between racing creates (any node).
    try {
      await deps.trails.create(trail, quota);
    } catch (error) {
      if (error instanceof TrailAlreadyExistsError) throw new ApiError("TrailAlreadyExistsException", error.message);
      throw error;
    }
    return writeResult(trail);
  };
}

export function updateTrailOperation(deps: TrailOperationDeps): OperationHandler {
  const maxTrails = deps.maxTrailsPerRegion ?? DEFAULT_MAX_TRAILS_PER_REGION;
  return async function updateTrail(input: Record<string, unknown>, context: OperationContext) {
    const current = await resolveTrail(deps.trails, input, "Name", context, { mutating: true });
    const updated: Mutable<TrailConfig> = { ...current };
    const bucket = optionalString(input, "S3BucketName");
    if (bucket !== undefined) updated.s3BucketName = bucket;
    const flags = [
      ["IncludeGlobalServiceEvents", "includeGlobalServiceEvents"],
      ["IsMultiRegionTrail", "isMultiRegionTrail"],
      ["IsOrganizationTrail", "isOrganizationTrail"],
      ["EnableLogFileValidation", "logFileValidationEnabled"],
    ] as const;
    for (const [member, field] of flags) {
      const value = optionalBoolean(input, member);
      if (value !== undefined) updated[field] = value;
    }
    applyOptionalSettings(updated, input);
    checkTrailSettings(updated);
    // Only a trail that becomes multi-region counts in more regions than before.
    const quota =
      updated.isMultiRegionTrail && !current.isMultiRegionTrail
        ? (accountTrails: readonly TrailConfig[]) => checkTrailQuota(accountTrails, updated, maxTrails)
        : undefined;
    quota?.(await deps.trails.list(context.accountId));
    // Checked when the call names a topic ("" removes it; a trail keeps a topic deleted since), before any bucket is claimed.
    if (optionalString(input, "SnsTopicName")) await checkTrailTopic(deps.snsTopics, updated);
    if (updated.s3BucketName !== current.s3BucketName)
      await useTrailBucket(deps, updated.s3BucketName, context.accountId);
    await deps.trails.put(updated, quota);
    return writeResult(updated);
  };
}
