import { ObjectStoreError, type ObjectStore } from "../objects/index.js";
import type { BucketOwnerStore } from "./bucket-owner-store.js";

/**
 * The object store as one account may use it: every call on a bucket another account owns fails
 * with `AccessDenied`, as S3 answers when a bucket policy does not admit the caller. A bucket no
 * account owns yet becomes this account's on first use (written to, or read while it exists), so the
 * background work of trails, saved query results and imports cannot reach past the control plane's
 * own checks, even for trails that shared a bucket before buckets had owners.
 *
 * @example const store = accountObjectStore(buckets.store, owners, trail.accountId);
 */
export function accountObjectStore(store: ObjectStore, owners: BucketOwnerStore, accountId: string): ObjectStore {
  const admit = async (operation: string, bucket: string, claimUnlessMissing: boolean): Promise<void> => {
    let owner = await owners.ownerOf(bucket);
    // Claiming a bucket that does not exist would reserve its name for nothing; S3 answers NoSuchBucket then.
    if (owner === undefined && (!claimUnlessMissing || (await store.bucketExists(bucket))))
      owner = await owners.claim(bucket, accountId);
    if (owner !== undefined && owner !== accountId)
      throw new ObjectStoreError(`S3 ${operation} s3://${bucket} failed: AccessDenied: Access Denied`, "AccessDenied");
  };
  return {
    async bucketExists(bucket) {
      await admit("HeadBucket", bucket, true);
      return store.bucketExists(bucket);
    },
    async ensureBucket(bucket) {
      await admit("CreateBucket", bucket, false);
      await store.ensureBucket(bucket);
    },
    async putObject(bucket, key, body, options) {
      await admit("PutObject", bucket, true);
      await store.putObject(bucket, key, body, options);
    },
    async getObject(bucket, key) {
      await admit("GetObject", bucket, true);
      return store.getObject(bucket, key);
    },
    async listObjects(bucket, options) {
      await admit("ListObjects", bucket, true);
      return store.listObjects(bucket, options);
    },
    async deleteObject(bucket, key, options) {
      await admit("DeleteObject", bucket, true);
      await store.deleteObject(bucket, key, options);
    },
  };
}
