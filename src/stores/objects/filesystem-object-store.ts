import { createHash } from "node:crypto";
import { open, readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { errorCode, makeDirectoryDurable, pruneEmptyDirectories, removeFileDurable } from "../../lib/durable-file.js";
import { writeFileAtomic } from "../../lib/durable-write.js";
import { listTreeKeys } from "./filesystem/list-tree.js";
import { encodeSidecar, readSidecar, type MetadataSidecar } from "./filesystem/metadata-sidecar.js";
import { assertValidBucketName, assertValidObjectKey, bucketNameProblem, normalizeMetadata } from "./names.js";
import {
  ObjectStoreError,
  PRECONDITION_FAILED,
  type DeleteObjectOptions,
  type ListObjectsPage,
  type ObjectStore,
  type ObjectSummary,
  type PutObjectOptions,
  type StoredObject,
} from "./object-store.js";

/** The embedded store also knows its buckets, which the read-only S3 server lists. */
export interface FilesystemObjectStore extends ObjectStore {
  readonly root: string;
  listBuckets(): Promise<string[]>;
}

const LIST_KEYS_DEFAULT = 1000;
const SUMMARY_BATCH_KEYS = 64;

/**
 * The embedded object store (docs/specs/object-store.md): under `root`,
 *
 *   <bucket>/<key>            object bodies, byte for byte (browse them, `zcat` them)
 *   .metadata/<bucket>/<key>  JSON sidecars: content type/encoding, user metadata, ETag
 *   .tmp/                     temp files of writes in progress
 *
 * Hidden folders can't collide with buckets: bucket names start with a letter or digit. The
 * sidecar tree mirrors the body tree exactly, so it has the same (refused) file/folder conflicts
 * and no new ones. Writes are serialised per key so the sidecar and body of one key never interleave.
 *
 * @example
 * const store = openFilesystemObjectStore(join(dataDir, "buckets"));
 * await store.ensureBucket("trail-bucket");
 * await store.putObject("trail-bucket", "AWSLogs/…/x.json.gz", body, { contentEncoding: "gzip" });
 */
export function openFilesystemObjectStore(root: string): FilesystemObjectStore {
  return new FilesystemStore(resolve(root));
}

class FilesystemStore implements FilesystemObjectStore {
  private readonly keyLocks = new Map<string, Promise<unknown>>();

  constructor(readonly root: string) {}

  async listBuckets(): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(this.root, { withFileTypes: true });
    } catch (error) {
      if (errorCode(error) === "ENOENT") return [];
      throw storageError("list buckets", this.root, error);
    }
    return entries
      .filter((entry) => entry.isDirectory() && bucketNameProblem(entry.name) === undefined)
      .map((entry) => entry.name)
      .sort();
  }

  async bucketExists(bucket: string): Promise<boolean> {
    assertValidBucketName(bucket);
    try {
      return (await stat(this.bucketPath(bucket))).isDirectory();
    } catch (error) {
      if (errorCode(error) === "ENOENT") return false;
      throw storageError("check bucket", bucket, error);
    }
  }

  async ensureBucket(bucket: string): Promise<void> {
    assertValidBucketName(bucket);
    try {
      await makeDirectoryDurable(this.bucketPath(bucket));
    } catch (error) {
      throw storageError("create bucket", bucket, error);
    }
  }

  async putObject(bucket: string, key: string, body: Buffer, options: PutObjectOptions = {}): Promise<void> {
    assertValidBucketName(bucket);
    assertValidObjectKey(key);
    const sidecar: MetadataSidecar = {
      version: 1,
      etag: md5Hex(body),
      sizeBytes: body.length,
      ...(options.contentType !== undefined ? { contentType: options.contentType } : {}),
      ...(options.contentEncoding !== undefined ? { contentEncoding: options.contentEncoding } : {}),
      metadata: normalizeMetadata(options.metadata),
    };
    return this.withKeyLock(bucket, key, async () => {
      await this.requireBucket(bucket);
      await this.requireCondition(bucket, key, options);
      try {
        // Sidecar first: a crash before the body lands leaves no new object, never a body without metadata.
        // Temp files outside the bucket, so a listing never sees one.
        const durably = { temporaryDirectory: this.temporaryPath(), createDirectories: true };
        await writeFileAtomic(this.sidecarPath(bucket, key), encodeSidecar(sidecar), durably);
        await writeFileAtomic(this.objectPath(bucket, key), body, durably);
      } catch (error) {
        throw storageError("write", `${bucket}/${key}`, error);
      }
    });
  }

  async getObject(bucket: string, key: string): Promise<StoredObject | undefined> {
    assertValidBucketName(bucket);
    assertValidObjectKey(key);
    await this.requireBucket(bucket);
    const file = await this.readBody(bucket, key);
    if (file === undefined) return undefined;
    const etag = md5Hex(file.body);
    const sidecar = await this.readSidecarOf(bucket, key);
    // A sidecar that doesn't match the body is left from a crash mid-overwrite: report the body alone.
    const described = sidecar !== undefined && sidecar.etag === etag ? sidecar : undefined;
    return {
      body: file.body,
      ...(described?.contentType !== undefined ? { contentType: described.contentType } : {}),
      ...(described?.contentEncoding !== undefined ? { contentEncoding: described.contentEncoding } : {}),
      metadata: { ...(described?.metadata ?? {}) },
      lastModifiedMs: file.lastModifiedMs,
      etag,
    };
  }

  async listObjects(
    bucket: string,
    options: { prefix?: string; startAfter?: string; maxKeys?: number },
  ): Promise<ListObjectsPage> {
    assertValidBucketName(bucket);
    await this.requireBucket(bucket);
    const maxKeys = Math.max(0, Math.min(options.maxKeys ?? LIST_KEYS_DEFAULT, LIST_KEYS_DEFAULT));
    let keys: string[];
    try {
      keys = await listTreeKeys(this.bucketPath(bucket), {
        prefix: options.prefix ?? "",
        startAfter: options.startAfter ?? "",
        limit: maxKeys + 1,
      });
    } catch (error) {
      throw storageError("list", bucket, error);
    }
    const objects: ObjectSummary[] = [];
    // A stat and a sidecar read per key: overlap them, in bounded batches.
    const selected = keys.slice(0, maxKeys);
    for (let start = 0; start < selected.length; start += SUMMARY_BATCH_KEYS) {
      const batch = selected.slice(start, start + SUMMARY_BATCH_KEYS);
      const summaries = await Promise.all(batch.map((key) => this.summarize(bucket, key)));
      for (const summary of summaries) if (summary !== undefined) objects.push(summary);
    }
    const last = objects[objects.length - 1];
    return keys.length > maxKeys && last !== undefined ? { objects, nextStartAfter: last.key } : { objects };
  }

  async deleteObject(bucket: string, key: string, options: DeleteObjectOptions = {}): Promise<void> {
    assertValidBucketName(bucket);
    assertValidObjectKey(key);
    return this.withKeyLock(bucket, key, async () => {
      await this.requireBucket(bucket);
      await this.requireCondition(bucket, key, options);
      try {
        // Body first: once it is gone the key is gone, whatever happens to the sidecar.
        await removeFileDurable(this.objectPath(bucket, key));
        await removeFileDurable(this.sidecarPath(bucket, key));
        await pruneEmptyDirectories(this.objectPath(bucket, key), this.bucketPath(bucket));
        await pruneEmptyDirectories(this.sidecarPath(bucket, key), this.sidecarBucketPath(bucket));
      } catch (error) {
        if (isMissingPath(error)) return;
        throw storageError("delete", `${bucket}/${key}`, error);
      }
    });
  }

  private async summarize(bucket: string, key: string): Promise<ObjectSummary | undefined> {
    try {
      const info = await stat(this.objectPath(bucket, key));
      const sidecar = await this.readSidecarOf(bucket, key);
      // Only a sidecar of the same size is trusted here; otherwise hash the body, as getObject does.
      const etag =
        sidecar !== undefined && sidecar.sizeBytes === info.size
          ? sidecar.etag
          : md5Hex(await readFile(this.objectPath(bucket, key)));
      return { key, sizeBytes: info.size, lastModifiedMs: Math.floor(info.mtimeMs), etag };
    } catch (error) {
      if (isMissingPath(error)) return undefined; // deleted while we listed
      throw storageError("list", `${bucket}/${key}`, error);
    }
  }

  /** A conditional write's or delete's condition, checked under the key's lock (S3's answer when it fails). */
  private async requireCondition(
    bucket: string,
    key: string,
    condition: { readonly ifMatch?: string; readonly ifNoneMatch?: "*" },
  ): Promise<void> {
    if (condition.ifMatch === undefined && condition.ifNoneMatch === undefined) return;
    const file = await this.readBody(bucket, key);
    const held = file === undefined ? undefined : md5Hex(file.body);
    const wanted = condition.ifMatch?.replace(/^"|"$/g, "");
    if ((wanted !== undefined && held !== wanted) || (condition.ifNoneMatch === "*" && held !== undefined))
      throw new ObjectStoreError(
        `The condition on ${bucket}/${key} does not hold: the object changed.`,
        PRECONDITION_FAILED,
      );
  }

  private async readBody(bucket: string, key: string): Promise<{ body: Buffer; lastModifiedMs: number } | undefined> {
    try {
      const handle = await open(this.objectPath(bucket, key), "r");
      try {
        const info = await handle.stat();
        if (!info.isFile()) return undefined;
        return { body: await handle.readFile(), lastModifiedMs: Math.floor(info.mtimeMs) };
      } finally {
        await handle.close();
      }
    } catch (error) {
      if (isMissingPath(error)) return undefined;
      throw storageError("read", `${bucket}/${key}`, error);
    }
  }

  private async readSidecarOf(bucket: string, key: string): Promise<MetadataSidecar | undefined> {
    try {
      return await readSidecar(this.sidecarPath(bucket, key));
    } catch (error) {
      throw storageError("read metadata of", `${bucket}/${key}`, error);
    }
  }

  private async requireBucket(bucket: string): Promise<void> {
    if (!(await this.bucketExists(bucket))) {
      throw new ObjectStoreError(`The bucket ${bucket} does not exist.`, "NoSuchBucket");
    }
  }

  /** Runs `task` after every earlier task on the same key has settled. */
  private withKeyLock<T>(bucket: string, key: string, task: () => Promise<T>): Promise<T> {
    const lockKey = `${bucket}/${key}`;
    const previous = this.keyLocks.get(lockKey) ?? Promise.resolve();
    const current = previous.then(task, task);
    const settled = current.then(
      () => undefined,
      () => undefined,
    );
    this.keyLocks.set(lockKey, settled);
    void settled.then(() => {
      if (this.keyLocks.get(lockKey) === settled) this.keyLocks.delete(lockKey);
    });
    return current;
  }

  private bucketPath(bucket: string): string {
    return join(this.root, bucket);
  }

  private objectPath(bucket: string, key: string): string {
    return join(this.root, bucket, ...key.split("/"));
  }

  private sidecarBucketPath(bucket: string): string {
    return join(this.root, ".metadata", bucket);
  }

  private sidecarPath(bucket: string, key: string): string {
    return join(this.sidecarBucketPath(bucket), ...key.split("/"));
  }

  private temporaryPath(): string {
    return join(this.root, ".tmp");
  }
}

function md5Hex(body: Uint8Array): string {
  return createHash("md5").update(body).digest("hex");
}

/** ENOENT, or a path component that is a file (key `a/b` when `a` is an object): the key isn't there. */
function isMissingPath(error: unknown): boolean {
  const code = errorCode(error);
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

/** Maps a file-system failure to the ObjectStoreError that GetTrailStatus will show. */
function storageError(operation: string, target: string, error: unknown): ObjectStoreError {
  if (error instanceof ObjectStoreError) return error;
  const code = errorCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  const prefix = `Embedded object store could not ${operation} ${target}`;
  switch (code) {
    case "EISDIR":
    case "ENOTDIR":
    case "EEXIST":
      return new ObjectStoreError(
        `${prefix}: the key and another key that extends it with '/' cannot both exist on a file system.`,
        "KeyConflict",
        { cause: error },
      );
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return new ObjectStoreError(`${prefix}: AccessDenied (${detail}).`, "AccessDenied", { cause: error });
    case "ENOSPC":
    case "EDQUOT":
      return new ObjectStoreError(`${prefix}: the disk is full (${detail}).`, "InsufficientStorage", { cause: error });
    case "ENAMETOOLONG":
      return new ObjectStoreError(`${prefix}: the path is too long for the file system.`, "InvalidKey", {
        cause: error,
      });
    default:
      return new ObjectStoreError(`${prefix}: ${detail}`, code ?? "InternalError", { cause: error });
  }
}
