import { join } from "node:path";
import type { ServerSettings } from "../config/settings.js";
import { openFilesystemObjectStore, type FilesystemObjectStore } from "../stores/objects/filesystem-object-store.js";
import type { ObjectStore } from "../stores/objects/object-store.js";
import { createS3ObjectStore } from "../stores/objects/s3-object-store.js";

/** The server's buckets (trail logs, Lake query results, import sources), and the embedded store when they are local. */
export interface Buckets {
  readonly store: ObjectStore;
  /** Set when the buckets are directories under the data dir (served read-only over S3 by the trails module). */
  readonly embedded: FilesystemObjectStore | undefined;
}

/** A directory per bucket under `<data-dir>/buckets`, or any S3 endpoint when `CAIRN_S3_ENDPOINT` is set. */
export function openBuckets(settings: ServerSettings): Buckets {
  if (settings.s3Endpoint === undefined) {
    const embedded = openFilesystemObjectStore(join(settings.dataDir, "buckets"));
    return { store: embedded, embedded };
  }
  const store = createS3ObjectStore({
    endpoint: settings.s3Endpoint,
    region: settings.s3Region,
    ...(settings.s3AccessKeyId !== undefined ? { accessKeyId: settings.s3AccessKeyId } : {}),
    ...(settings.s3SecretAccessKey !== undefined ? { secretAccessKey: settings.s3SecretAccessKey } : {}),
    forcePathStyle: settings.s3ForcePathStyle,
    timeoutMs: settings.s3TimeoutMs,
  });
  return { store, embedded: undefined };
}
