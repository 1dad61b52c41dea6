/**
 * Where an import reads trail log files from: a server-side directory (`file:///…`, a Cairn
 * extension) or an S3 location (`s3://bucket/prefix`) in the object store Cairn is configured with:
 * the embedded store (`<data-dir>/buckets`, the buckets trails deliver to) or the S3 endpoint of
 * `CAIRN_S3_ENDPOINT` and its `CAIRN_S3_*` settings. Both keep `.json`/`.json.gz` files and skip
 * CloudTrail digest files (`CloudTrail-Digest/`), in sorted order.
 */
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiError } from "../../../lib/api-error.js";
import { isTrailFileName, listTrailFiles } from "../../../client/trail-files.js";
import type { ObjectStore } from "../../../stores/objects/index.js";

const DIGEST = "CloudTrail-Digest";

export type ImportLocation =
  | { readonly kind: "file"; readonly directory: string }
  | { readonly kind: "s3"; readonly bucket: string; readonly prefix: string };

/** One file to import: `location` names it in failures (a path, or `s3://bucket/key`). */
export interface ImportFile {
  readonly location: string;
  /** The object key, for s3 sources. */
  readonly key?: string;
}

/** Validates StartImport's S3LocationUri; throws InvalidImportSourceException as AWS does. */
export async function resolveImportLocation(uri: string, store: ObjectStore | undefined): Promise<ImportLocation> {
  if (uri.startsWith("file://")) {
    let directory: string;
    try {
      directory = fileURLToPath(uri);
    } catch {
      throw new ApiError("InvalidImportSourceException", `The import source ${uri} is not a valid file:// URL.`);
    }
    if (!(await stat(directory).catch(() => undefined))?.isDirectory())
      throw new ApiError(
        "InvalidImportSourceException",
        `The import source ${uri} is not a readable directory on the server.`,
      );
    return { kind: "file", directory };
  }
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (match === null)
    throw new ApiError(
      "InvalidImportSourceException",
      "S3LocationUri must be s3://<bucket>[/<prefix>] or file:///<directory on the server>.",
    );
  const [, bucket = "", prefix = ""] = match;
  let exists = false;
  try {
    exists = store !== undefined && (await store.bucketExists(bucket));
  } catch (error) {
    throw new ApiError(
      "InvalidImportSourceException",
      `The import source ${uri} cannot be read: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!exists) throw new ApiError("InvalidImportSourceException", `The bucket ${bucket} of ${uri} does not exist.`);
  return { kind: "s3", bucket, prefix };
}

/** Every trail log file of the location, digest files left out. */
export async function listImportFiles(location: ImportLocation, store: ObjectStore | undefined): Promise<ImportFile[]> {
  if (location.kind === "file")
    return (await listTrailFiles([location.directory]))
      .filter((f) => !basename(f.path).includes(DIGEST))
      .map((f) => ({ location: f.path }));
  if (store === undefined) throw new Error("no object store configured for s3:// imports");
  const files: ImportFile[] = [];
  let startAfter: string | undefined;
  for (;;) {
    const page = await store.listObjects(location.bucket, {
      prefix: location.prefix,
      ...(startAfter !== undefined ? { startAfter } : {}),
    });
    for (const object of page.objects) {
      const name = object.key.split("/").pop() ?? "";
      if (!isTrailFileName(name) || name.includes(DIGEST) || object.key.split("/").includes(DIGEST)) continue;
      files.push({ location: `s3://${location.bucket}/${object.key}`, key: object.key });
    }
    if (page.nextStartAfter === undefined) break;
    startAfter = page.nextStartAfter;
  }
  return files;
}

/** The body of an s3 file; undefined when it vanished (reported as unreadable). */
export async function readImportObject(store: ObjectStore, bucket: string, key: string): Promise<Buffer | undefined> {
  return (await store.getObject(bucket, key))?.body;
}
