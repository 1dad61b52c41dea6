import type { FilesystemObjectStore, ObjectStore } from "../../stores/objects/index.js";
import { addCounts, type CopyCount, type ProgressTick } from "./copy-count.js";

/** Keys listed per request on either side. */
const LIST_KEYS = 1_000;

/**
 * Copies every object of the embedded buckets (`<data-dir>/buckets`) to the cluster's S3 endpoint
 * under the same bucket and key, with its content type, encoding and user metadata (a digest's
 * signature is metadata): log files and digests stay where `validate-logs` and the digest chain
 * look for them. Keys the target bucket already holds are skipped (S3 puts are whole, so a key that
 * is there was copied completely), which makes a re-run copy only what it had not got to.
 */
export async function copyBuckets(
  source: FilesystemObjectStore | undefined,
  target: ObjectStore,
  tick: ProgressTick = () => undefined,
): Promise<CopyCount> {
  let count: CopyCount = { copied: 0, present: 0 };
  for (const bucket of (await source?.listBuckets()) ?? []) {
    await target.ensureBucket(bucket);
    const there = await keysOf(target, bucket);
    let startAfter: string | undefined;
    do {
      const page = await source!.listObjects(bucket, { maxKeys: LIST_KEYS, ...(startAfter ? { startAfter } : {}) });
      for (const { key } of page.objects) {
        if (there.has(key)) {
          count = addCounts(count, { copied: 0, present: 1 });
          tick(count.copied + count.present);
          continue;
        }
        const object = await source!.getObject(bucket, key);
        if (object === undefined) continue;
        await target.putObject(bucket, key, object.body, {
          ...(object.contentType !== undefined ? { contentType: object.contentType } : {}),
          ...(object.contentEncoding !== undefined ? { contentEncoding: object.contentEncoding } : {}),
          metadata: object.metadata,
        });
        count = addCounts(count, { copied: 1, present: 0 });
        tick(count.copied + count.present);
      }
      startAfter = page.nextStartAfter;
    } while (startAfter !== undefined);
  }
  return count;
}

/** Every key of the bucket. */
export async function keysOf(store: ObjectStore, bucket: string): Promise<Set<string>> {
  const keys = new Set<string>();
  let startAfter: string | undefined;
  do {
    const page = await store.listObjects(bucket, { maxKeys: LIST_KEYS, ...(startAfter ? { startAfter } : {}) });
    for (const { key } of page.objects) keys.add(key);
    startAfter = page.nextStartAfter;
  } while (startAfter !== undefined);
  return keys;
}
