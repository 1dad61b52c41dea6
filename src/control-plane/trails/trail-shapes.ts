/**
 * The `Trail` structure (DescribeTrails/GetTrail) and the Create/UpdateTrail output, from a stored
 * configuration. Unset strings are omitted, never null ("Trail objects with string values are only
 * returned if values for the objects exist", spec §5.3).
 */
import type { TrailConfig } from "../../stores/trails/index.js";
import { trailTopicOf } from "./trail-topic.js";

/** SnsTopicName may be given as a name or an ARN; the output carries both forms. */
function snsTopicOf(trail: TrailConfig): { SnsTopicName: string; SnsTopicARN: string } | undefined {
  const topic = trailTopicOf(trail);
  return topic === undefined ? undefined : { SnsTopicName: topic.name, SnsTopicARN: topic.arn };
}

function optionalStrings(trail: TrailConfig): Record<string, string> {
  return {
    ...(trail.s3KeyPrefix !== undefined ? { S3KeyPrefix: trail.s3KeyPrefix } : {}),
    ...(snsTopicOf(trail) ?? {}),
  };
}

function optionalTail(trail: TrailConfig): Record<string, string> {
  return {
    ...(trail.cloudWatchLogsLogGroupArn !== undefined
      ? { CloudWatchLogsLogGroupArn: trail.cloudWatchLogsLogGroupArn }
      : {}),
    ...(trail.cloudWatchLogsRoleArn !== undefined ? { CloudWatchLogsRoleArn: trail.cloudWatchLogsRoleArn } : {}),
    ...(trail.kmsKeyId !== undefined ? { KmsKeyId: trail.kmsKeyId } : {}),
  };
}

/** CreateTrailResponse / UpdateTrailResponse, in the model's member order. */
export function trailWriteOutput(trail: TrailConfig): Record<string, unknown> {
  return {
    Name: trail.name,
    S3BucketName: trail.s3BucketName,
    ...optionalStrings(trail),
    IncludeGlobalServiceEvents: trail.includeGlobalServiceEvents,
    IsMultiRegionTrail: trail.isMultiRegionTrail,
    TrailARN: trail.trailArn,
    LogFileValidationEnabled: trail.logFileValidationEnabled,
    ...optionalTail(trail),
    IsOrganizationTrail: trail.isOrganizationTrail,
  };
}

/** The `Trail` structure. */
export function describeTrail(trail: TrailConfig): Record<string, unknown> {
  return {
    Name: trail.name,
    S3BucketName: trail.s3BucketName,
    ...optionalStrings(trail),
    IncludeGlobalServiceEvents: trail.includeGlobalServiceEvents,
    IsMultiRegionTrail: trail.isMultiRegionTrail,
    HomeRegion: trail.homeRegion,
    TrailARN: trail.trailArn,
    LogFileValidationEnabled: trail.logFileValidationEnabled,
    ...optionalTail(trail),
    HasCustomEventSelectors: trail.hasCustomEventSelectors,
    HasInsightSelectors: (trail.insightSelectors?.length ?? 0) > 0,
    IsOrganizationTrail: trail.isOrganizationTrail,
  };
}
