import { join } from "node:path";
import type { ServerSettings } from "../config/settings.js";
import type { BucketOwnerStore } from "../stores/bucket-owners/bucket-owner-store.js";
import { openSqliteBucketOwnerStore } from "../stores/bucket-owners/sqlite-bucket-owner-store.js";
import { openFilesystemObjectStore, type FilesystemObjectStore } from "../stores/objects/filesystem-object-store.js";
import type { ObjectStore } from "../stores/objects/object-store.js";
import { createS3ObjectStore } from "../stores/objects/s3-object-store.js";
import type { TrailStore } from "../stores/trails/trail.js";

/** The server's buckets (trail logs, Lake query results, import sources), and the embedded store when they are local. */
export interface Buckets {
  readonly store: ObjectStore;
  /** Set when the buckets are directories under the data dir (served read-only over S3 by the trails module). */
  readonly embedded: FilesystemObjectStore | undefined;
  /** Which account owns each bucket, wherever the buckets are (docs/reference/security.md, "Account isolation"). */
  readonly owners: BucketOwnerStore;
}

/** A directory per bucket under `<data-dir>/buckets`, or any S3 endpoint when `CAIRN_S3_ENDPOINT` is set. */
export function openBuckets(settings: ServerSettings): Buckets {
  const owners = openSqliteBucketOwnerStore(join(settings.dataDir, "bucket-owners.db"));
  if (settings.s3Endpoint === undefined) {
    const embedded = openFilesystemObjectStore(join(settings.dataDir, "buckets"));
    return { store: embedded, embedded, owners };
  }
  return { store: s3ObjectStoreOf(settings, settings.s3Endpoint), embedded: undefined, owners };
}

/** The object store on `endpoint` with the CAIRN_S3_* settings (trail buckets, the Lake, a migration's target). */
export function s3ObjectStoreOf(
  settings: Pick<
    ServerSettings,
    "s3Region" | "s3AccessKeyId" | "s3SecretAccessKey" | "s3ForcePathStyle" | "s3TimeoutMs"
  >,
  endpoint: string,
): ObjectStore {
  return createS3ObjectStore({
    endpoint,
    region: settings.s3Region,
    ...(settings.s3AccessKeyId !== undefined ? { accessKeyId: settings.s3AccessKeyId } : {}),
    ...(settings.s3SecretAccessKey !== undefined ? { secretAccessKey: settings.s3SecretAccessKey } : {}),
    forcePathStyle: settings.s3ForcePathStyle,
    timeoutMs: settings.s3TimeoutMs,
  });
}

/**
 * Gives owners to buckets used before buckets had owners, at every start: each trail's bucket
 * becomes its account's, oldest trail first (of two accounts' trails sharing one, the younger one's
 * delivery is refused from now on); then every embedded bucket still unowned, made by hand or by an
 * older Cairn, becomes the server's own account's. Buckets on an external endpoint that no trail
 * names stay unowned until an account uses them.
 */
export async function adoptBuckets(buckets: Buckets, trails: TrailStore, serverAccountId: string): Promise<void> {
  const byAge = [...(await trails.list())].sort((a, b) => a.createdAtMs - b.createdAtMs);
  for (const trail of byAge) await buckets.owners.claim(trail.s3BucketName, trail.accountId);
  for (const bucket of (await buckets.embedded?.listBuckets()) ?? [])
    await buckets.owners.claim(bucket, serverAccountId);
}
