/**
 * Where an import reads trail log files from: an S3 location (`s3://bucket/prefix`) in the object
 * store Cairn is configured with (the embedded store under `<data-dir>/buckets`, or the endpoint of
 * `CAIRN_S3_ENDPOINT`), of a bucket the caller's account owns; or, when the operator allows it, a
 * directory on the server (`file:///…`, a Cairn extension) under one of `CAIRN_IMPORT_ALLOWED_DIRS`.
 * Both keep `.json`/`.json.gz` files and skip CloudTrail digest files (`CloudTrail-Digest/`), in
 * sorted order. Nothing here names a server path to the caller: files are named by the caller's own
 * source URI and their path below it (docs/reference/security.md, "Account isolation").
 */
import { realpath, stat } from "node:fs/promises";
import { basename, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiError } from "../../../lib/api-error.js";
import { errorCode } from "../../../lib/error-code.js";
import { isTrailFileName, listTrailFiles } from "../../../client/trail-files.js";
import type { BucketOwnerStore } from "../../../stores/bucket-owners/index.js";
import { ObjectStoreError, type ObjectStore } from "../../../stores/objects/index.js";
import { claimBucket, refuseForeignBucket } from "../../bucket-access.js";

const DIGEST = "CloudTrail-Digest";

export type ImportLocation =
  | {
      readonly kind: "file";
      /** The source directory with every symlink resolved: files are read only below it. */
      readonly directory: string;
    }
  | { readonly kind: "s3"; readonly bucket: string; readonly prefix: string };

/** One file to import. */
export interface ImportFile {
  /** Names the file in failures: `s3://bucket/key`, or the source's file:// URI and the path below it. */
  readonly location: string;
  /** The object key, for s3 sources. */
  readonly key?: string;
  /** Where the file is read, for file sources (never shown to the caller). */
  readonly path?: string;
}

export interface ImportSourceAccess {
  /** The store s3:// sources are read from; absent, s3:// sources do not exist. */
  readonly objectStore?: ObjectStore;
  readonly owners: BucketOwnerStore;
  /** CAIRN_IMPORT_ALLOWED_DIRS, absolute; empty refuses every file:// source. */
  readonly allowedDirectories: readonly string[];
}

const NOT_ALLOWED_MESSAGE =
  "The file:// import source is not a readable directory under the directories this server's operator " +
  "allows imports from (CAIRN_IMPORT_ALLOWED_DIRS).";

/** Validates StartImport's S3LocationUri for the caller's account; throws as AWS does. */
export async function resolveImportLocation(
  uri: string,
  accountId: string,
  access: ImportSourceAccess,
): Promise<ImportLocation> {
  if (uri.startsWith("file:")) return { kind: "file", directory: await allowedDirectory(uri, access) };
  const match = /^s3:\/\/([^/]+)\/?(.*)$/s.exec(uri);
  if (match === null)
    throw new ApiError(
      "InvalidImportSourceException",
      "S3LocationUri must be s3://<bucket>[/<prefix>] or file:///<directory on the server>.",
    );
  const [, bucket = "", prefix = ""] = match;
  const { objectStore: store, owners } = access;
  await refuseForeignBucket(owners, bucket, accountId, "InsufficientEncryptionPolicyException");
  let exists = false;
  try {
    exists = store !== undefined && (await store.bucketExists(bucket));
  } catch (error) {
    // The store's own message names its endpoint: the operator's business, not the caller's.
    throw new ApiError(
      "InvalidImportSourceException",
      `The import source ${uri} cannot be read (${failureCode(error)}).`,
    );
  }
  if (!exists) throw new ApiError("InvalidImportSourceException", `The bucket ${bucket} of ${uri} does not exist.`);
  await claimBucket(owners, bucket, accountId, "InsufficientEncryptionPolicyException");
  return { kind: "s3", bucket, prefix };
}

/**
 * The real path of a file:// source, when it is a directory inside an allowed directory once every
 * `..` and symlink is resolved. Every refusal has one message, so answers tell nothing about paths
 * outside the allowed directories (whether they exist, what they link to).
 */
async function allowedDirectory(uri: string, access: ImportSourceAccess): Promise<string> {
  if (access.allowedDirectories.length === 0)
    throw new ApiError(
      "InvalidImportSourceException",
      "This server does not import from file:// sources: its operator has not listed any directory in CAIRN_IMPORT_ALLOWED_DIRS.",
    );
  let requested: string;
  try {
    requested = resolve(fileURLToPath(uri));
  } catch {
    throw new ApiError("InvalidImportSourceException", "The import source is not a valid file:/// URL.");
  }
  const roots = await allowedRoots(access.allowedDirectories);
  // Paths outside every allowed directory are refused before the server looks at them at all.
  if (!roots.some(({ given, real }) => isWithin(requested, given) || isWithin(requested, real)))
    throw new ApiError("InvalidImportSourceException", NOT_ALLOWED_MESSAGE);
  const real = await realpath(requested).catch(() => undefined);
  const inside = real !== undefined && roots.some((root) => isWithin(real, root.real));
  if (!inside || !(await stat(real).catch(() => undefined))?.isDirectory())
    throw new ApiError("InvalidImportSourceException", NOT_ALLOWED_MESSAGE);
  return real;
}

/** Each allowed directory as configured and with its symlinks resolved (itself when it cannot be resolved). */
async function allowedRoots(directories: readonly string[]): Promise<Array<{ given: string; real: string }>> {
  return Promise.all(
    directories.map(async (directory) => {
      const given = resolve(directory);
      return { given, real: await realpath(given).catch(() => given) };
    }),
  );
}

/** Whether `path` is `root` or lies below it (both absolute and normalised). */
function isWithin(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Every trail log file of the location, digest files left out. `sourceUri` is the caller's own
 * S3LocationUri: file:// files are named by it and their path below the source directory.
 */
export async function listImportFiles(
  location: ImportLocation,
  store: ObjectStore | undefined,
  sourceUri: string,
): Promise<ImportFile[]> {
  if (location.kind === "file") {
    const base = sourceUri.endsWith("/") ? sourceUri : `${sourceUri}/`;
    // The walk skips symbolic links (it lists directory entries without following them), so every
    // path it returns lies below the resolved source directory.
    return (await listTrailFiles([location.directory]))
      .filter((f) => !basename(f.path).includes(DIGEST))
      .map((f) => ({
        location: base + relative(location.directory, f.path).split(sep).map(encodeURIComponent).join("/"),
        path: f.path,
      }));
  }
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

/**
 * What the caller may learn of a failure: the object store's code (`AccessDenied`, `NoSuchBucket`)
 * or the file system's (`EACCES`), never its message, which names server paths or the endpoint.
 */
export function failureCode(error: unknown): string {
  if (error instanceof ObjectStoreError) return error.code;
  return errorCode(error) ?? "InternalError";
}
