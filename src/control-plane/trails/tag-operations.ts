/** AddTags, ListTags and RemoveTags for trails (spec §5.3 "Tags"). */
import { ApiError } from "../../lib/api-error.js";
import type { OperationContext, OperationHandler } from "../operation.js";
import { optionalList } from "../input.js";
import type { TrailConfig } from "../../stores/trails/index.js";
import { parseCloudTrailArn } from "./trail-names.js";
import { mergeTags, readTagsList } from "./tag-rules.js";
import type { TrailOperationDeps } from "./trail-deps.js";
import { requiredString, trailResources } from "./trail-input.js";

const MAX_LIST_TAGS_RESOURCES = 20;
/** CloudTrail resources that take tags; Cairn has only trails so far, so the others are never found. */
const TAGGABLE_TYPES = new Set(["trail", "eventdatastore", "channel", "dashboard"]);

/** Tagging names resources by ARN only; a trail ARN is found from any region of its account. */
async function findTaggedTrail(
  deps: TrailOperationDeps,
  context: OperationContext,
  resourceId: string,
): Promise<TrailConfig> {
  const arn = parseCloudTrailArn(resourceId);
  if (arn === undefined)
    throw new ApiError(
      "CloudTrailARNInvalidException",
      `ARN ${resourceId} is not valid. Use the format arn:aws:cloudtrail:<region>:<account-id>:trail/<trail-name>.`,
    );
  if (!TAGGABLE_TYPES.has(arn.resourceType))
    throw new ApiError("ResourceTypeNotSupportedException", `Resource type ${arn.resourceType} does not take tags.`);
  const trail =
    arn.resourceType === "trail" && arn.accountId === context.accountId
      ? await deps.trails.get(context.accountId, arn.resourceId)
      : undefined;
  if (trail === undefined || trail.trailArn !== resourceId)
    throw new ApiError("ResourceNotFoundException", `Resource ${resourceId} was not found.`);
  return trail;
}

export function addTagsOperation(deps: TrailOperationDeps): OperationHandler {
  return async function addTags(input: Record<string, unknown>, context: OperationContext) {
    const trail = await findTaggedTrail(deps, context, requiredString(input, "ResourceId"));
    const added = readTagsList(input, "TagsList", true);
    if (trail.homeRegion !== context.region)
      throw new ApiError(
        "InvalidHomeRegionException",
        `The trail ${trail.trailArn} can only be changed in its home region ${trail.homeRegion}; this request was made in ${context.region}.`,
      );
    await deps.trails.put({ ...trail, tags: mergeTags(trail.tags, added) });
    return { output: {}, responseElements: null, resources: trailResources(trail) };
  };
}

/** RemoveTags removes by key; a Value given with a key is not compared. */
export function removeTagsOperation(deps: TrailOperationDeps): OperationHandler {
  return async function removeTags(input: Record<string, unknown>, context: OperationContext) {
    const trail = await findTaggedTrail(deps, context, requiredString(input, "ResourceId"));
    const removed = new Set(readTagsList(input, "TagsList", true).map((tag) => tag.Key));
    await deps.trails.put({ ...trail, tags: trail.tags.filter((tag) => !removed.has(tag.Key)) });
    return { output: {}, responseElements: null, resources: trailResources(trail) };
  };
}

export function listTagsOperation(deps: TrailOperationDeps): OperationHandler {
  return async function listTags(input: Record<string, unknown>, context: OperationContext) {
    const ids = optionalList(input, "ResourceIdList") ?? [];
    if (ids.length === 0 || ids.length > MAX_LIST_TAGS_RESOURCES)
      throw new ApiError(
        "InvalidParameterException",
        `ResourceIdList must name 1 to ${MAX_LIST_TAGS_RESOURCES} resources; ${ids.length} were given.`,
      );
    // One at a time, so the error reported is the first bad id's.
    const trails: TrailConfig[] = [];
    for (const [index, id] of ids.entries()) {
      if (typeof id !== "string")
        throw new ApiError("SerializationException", `Member 'ResourceIdList[${index}]' must be a string.`);
      trails.push(await findTaggedTrail(deps, context, id));
    }
    return {
      // Every answer fits one page (at most 20 resources), so no NextToken is ever returned.
      output: {
        ResourceTagList: trails.map((trail) => ({
          ResourceId: trail.trailArn,
          TagsList: trail.tags.map((tag) => ({
            Key: tag.Key,
            ...(tag.Value !== undefined ? { Value: tag.Value } : {}),
          })),
        })),
      },
      resources: trails.flatMap(trailResources),
    };
  };
}
