/**
 * Account isolation for buckets (docs/reference/security.md, "Account isolation"): a bucket belongs
 * to the first account that uses it, and an operation naming a bucket another account owns is refused
 * as CloudTrail refuses a bucket whose policy does not admit the caller. Cross-account central
 * buckets, admitted by a bucket policy, are not supported yet.
 */
import { ApiError } from "../lib/api-error.js";
import type { BucketOwnerStore } from "../stores/bucket-owners/index.js";

/**
 * The exception each operation's model names for a bucket policy that does not admit the call:
 * CreateTrail, UpdateTrail and StartQuery list InsufficientS3BucketPolicyException; StartImport does
 * not, and AWS documents InsufficientEncryptionPolicyException for its bucket policy instead.
 */
export type BucketPolicyException = "InsufficientS3BucketPolicyException" | "InsufficientEncryptionPolicyException";

/** CloudTrail's own wording for the refusal. */
function refusal(code: BucketPolicyException, bucket: string): ApiError {
  return new ApiError(code, `Incorrect S3 bucket policy is detected for bucket: ${bucket}`);
}

/** Refuses when another account owns `bucket`; a first look, before anything is created for the caller. */
export async function refuseForeignBucket(
  owners: BucketOwnerStore,
  bucket: string,
  accountId: string,
  code: BucketPolicyException,
): Promise<void> {
  const owner = await owners.ownerOf(bucket);
  if (owner !== undefined && owner !== accountId) throw refusal(code, bucket);
}

/**
 * Makes `bucket` the caller's unless another account owns it, then refuses; of two accounts claiming
 * one bucket at once, the one that loses is refused here.
 */
export async function claimBucket(
  owners: BucketOwnerStore,
  bucket: string,
  accountId: string,
  code: BucketPolicyException,
): Promise<void> {
  if ((await owners.claim(bucket, accountId)) !== accountId) throw refusal(code, bucket);
}
