/**
 * Checks shared by CreateTrail and UpdateTrail: destination settings, the multi-region rule, the
 * per-region quota, and the bucket's existence.
 */
import { ApiError } from "../../lib/api-error.js";
import { bucketNameProblem, ObjectStoreError } from "../../stores/objects/index.js";
import type { ObjectStore } from "../../stores/objects/index.js";
import type { TrailConfig } from "../../stores/trails/index.js";
import { appliesToRegion } from "./trail-input.js";

const P = "arn:aws(?:-[a-z]+)*";
const MAX_PREFIX_LENGTH = 200;
const SNS_TOPIC = new RegExp(`^(?:[A-Za-z0-9_-]{1,256}|${P}:sns:[a-z0-9-]+:\\d{12}:[A-Za-z0-9_-]{1,256})$`);
const KMS_KEY = new RegExp(
  `^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|alias/[A-Za-z0-9/_-]{1,250}|${P}:kms:[a-z0-9-]+:\\d{12}:(?:key/[A-Za-z0-9-]+|alias/[A-Za-z0-9/_-]+))$`,
);
const LOG_GROUP_ARN = new RegExp(`^${P}:logs:[a-z0-9-]+:\\d{12}:log-group:[A-Za-z0-9_./#-]{1,512}:\\*$`);
const ROLE_ARN = new RegExp(`^${P}:iam::\\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$`);

/** Validates the settings of a trail about to be stored (after defaults and updates are applied). */
export function checkTrailSettings(trail: TrailConfig): void {
  const bucketProblem = bucketNameProblem(trail.s3BucketName);
  if (bucketProblem !== undefined)
    throw new ApiError(
      "InvalidS3BucketNameException",
      `S3 bucket name ${trail.s3BucketName} is not valid: it ${bucketProblem}.`,
    );
  if (trail.s3KeyPrefix !== undefined && trail.s3KeyPrefix.length > MAX_PREFIX_LENGTH)
    throw new ApiError("InvalidS3PrefixException", `S3KeyPrefix must be at most ${MAX_PREFIX_LENGTH} characters.`);
  // A name or an ARN, at most 256 characters either way (spec §2.4).
  if (trail.snsTopicName !== undefined && (trail.snsTopicName.length > 256 || !SNS_TOPIC.test(trail.snsTopicName)))
    throw new ApiError(
      "InvalidSnsTopicNameException",
      `SnsTopicName ${trail.snsTopicName} is not a valid topic name or ARN.`,
    );
  if (trail.kmsKeyId !== undefined && !KMS_KEY.test(trail.kmsKeyId))
    throw new ApiError(
      "InvalidKmsKeyIdException",
      `KmsKeyId ${trail.kmsKeyId} is not a key id, alias, key ARN or alias ARN.`,
    );
  checkCloudWatchLogs(trail);
  if (trail.isOrganizationTrail)
    throw new ApiError(
      "OrganizationsNotInUseException",
      "Cairn does not support AWS Organizations, so a trail cannot be an organization trail.",
    );
  if (trail.isMultiRegionTrail && !trail.includeGlobalServiceEvents)
    throw new ApiError(
      "InvalidParameterCombinationException",
      "Multi-Region trail must include global service events.",
    );
}

function checkCloudWatchLogs(trail: TrailConfig): void {
  const group = trail.cloudWatchLogsLogGroupArn;
  const role = trail.cloudWatchLogsRoleArn;
  if (group !== undefined && !LOG_GROUP_ARN.test(group))
    throw new ApiError(
      "InvalidCloudWatchLogsLogGroupArnException",
      `CloudWatchLogsLogGroupArn ${group} is not a log group ARN (arn:aws:logs:<region>:<account>:log-group:<name>:*).`,
    );
  if (role !== undefined && !ROLE_ARN.test(role))
    throw new ApiError(
      "InvalidCloudWatchLogsRoleArnException",
      `CloudWatchLogsRoleArn ${role} is not an IAM role ARN.`,
    );
  if ((group === undefined) !== (role === undefined))
    throw new ApiError(
      "InvalidParameterCombinationException",
      "CloudWatchLogsLogGroupArn and CloudWatchLogsRoleArn must be given together.",
    );
}

/**
 * Every region that would see more than `max` trails once `candidate` is stored: a multi-region
 * trail counts in every region (spec §5.6), so the check covers every region the account uses.
 */
export function checkTrailQuota(accountTrails: readonly TrailConfig[], candidate: TrailConfig, max: number): void {
  const after = [...accountTrails.filter((t) => t.name !== candidate.name), candidate];
  const regions = new Set(after.map((t) => t.homeRegion));
  for (const region of regions) {
    if (!appliesToRegion(candidate, region)) continue;
    const count = after.filter((t) => appliesToRegion(t, region)).length;
    if (count > max)
      throw new ApiError(
        "MaximumNumberOfTrailsExceededException",
        `User: ${candidate.accountId} already has ${max} trails in ${region}.`,
      );
  }
}

/**
 * The embedded store creates a missing bucket on demand; with an external S3 a missing bucket is
 * S3BucketDoesNotExistException, as CloudTrail answers.
 */
/** A store that cannot answer (down, hung past CAIRN_S3_TIMEOUT_MS) makes the call retryable: 503, not 500. */
async function unlessUnreachable<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (!(error instanceof ObjectStoreError)) throw error;
    // The store's own message names its endpoint: the operator's, not the caller's business.
    throw new ApiError("ServiceUnavailableException", "The trail bucket store is not answering; retry later.", {
      "retry-after": "1",
    });
  }
}

export async function ensureTrailBucket(
  objectStore: ObjectStore,
  bucket: string,
  createMissing: boolean,
): Promise<void> {
  if (await unlessUnreachable(objectStore.bucketExists(bucket))) return;
  const missing = new ApiError("S3BucketDoesNotExistException", `S3 bucket ${bucket} does not exist!`);
  if (!createMissing) throw missing;
  try {
    await objectStore.ensureBucket(bucket);
  } catch {
    throw missing;
  }
}
