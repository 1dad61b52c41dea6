import { ObjectStoreError } from "./object-store.js";

/** S3's hard limit on key length, in UTF-8 bytes. */
const KEY_BYTES_MAX = 1024;
/** S3's limit on user-defined metadata: keys plus values, in UTF-8 bytes. */
const METADATA_BYTES_MAX = 2048;

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IP_ADDRESS = /^\d{1,3}(\.\d{1,3}){3}$/;
// In `u` mode a surrogate pair is one code point, so this matches only unpaired surrogates.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const RESERVED_BUCKET_PREFIXES = ["xn--", "sthree-"];
const RESERVED_BUCKET_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/**
 * Why a bucket name breaks S3's general-purpose naming rules, or `undefined` when it is valid.
 * The embedded store uses bucket names as directory names, so these rules are also what keeps a
 * bucket from escaping its root (`..`, `/`) or colliding with the store's hidden folders (`.…`).
 */
export function bucketNameProblem(bucket: string): string | undefined {
  if (bucket.length < 3 || bucket.length > 63) return "must be 3 to 63 characters long";
  if (!BUCKET_NAME.test(bucket)) {
    return "may contain only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit";
  }
  if (bucket.includes("..")) return "must not contain two adjacent dots";
  if (IP_ADDRESS.test(bucket)) return "must not be formatted as an IP address";
  if (RESERVED_BUCKET_PREFIXES.some((prefix) => bucket.startsWith(prefix))) return "uses a reserved prefix";
  if (RESERVED_BUCKET_SUFFIXES.some((suffix) => bucket.endsWith(suffix))) return "uses a reserved suffix";
  return undefined;
}

export function assertValidBucketName(bucket: string): void {
  const problem = bucketNameProblem(bucket);
  if (problem !== undefined) {
    throw new ObjectStoreError(`Invalid bucket name ${JSON.stringify(bucket)}: it ${problem}.`, "InvalidBucketName");
  }
}

/**
 * Why a key cannot be stored as a file path, or `undefined`. S3 itself accepts all of these except
 * over-long keys; the embedded store refuses them because `..`, `.` and empty segments would
 * escape or alias paths, and NUL cannot appear in a file name. CloudTrail keys never contain them.
 */
export function objectKeyProblem(key: string): string | undefined {
  if (key.length === 0) return "is empty";
  if (Buffer.byteLength(key, "utf8") > KEY_BYTES_MAX) return `is longer than ${KEY_BYTES_MAX} bytes in UTF-8`;
  if (LONE_SURROGATE.test(key)) return "contains an unpaired UTF-16 surrogate";
  if (key.includes("\0")) return "contains a NUL character";
  for (const segment of key.split("/")) {
    if (segment === "") return "has an empty path segment (leading, trailing or doubled '/')";
    if (segment === "." || segment === "..") return `has a '${segment}' path segment`;
    if (Buffer.byteLength(segment, "utf8") > 255) return "has a path segment longer than 255 bytes";
  }
  return undefined;
}

export function assertValidObjectKey(key: string): void {
  const problem = objectKeyProblem(key);
  if (problem !== undefined) {
    throw new ObjectStoreError(`Invalid object key ${JSON.stringify(key)}: it ${problem}.`, "InvalidKey");
  }
}

const METADATA_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const METADATA_VALUE = /^[\x20-\x7e]*$/;

/**
 * Lower-cases user metadata names, as S3 does (they travel as `x-amz-meta-<name>` headers), and
 * refuses what cannot travel in an HTTP header, so the embedded store accepts exactly what a real
 * S3 endpoint would return intact.
 */
export function normalizeMetadata(metadata: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const normalized: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(metadata ?? {})) {
    const lower = name.toLowerCase();
    if (!METADATA_NAME.test(lower)) {
      throw new ObjectStoreError(
        `Invalid metadata name ${JSON.stringify(name)}: use an HTTP token.`,
        "InvalidMetadata",
      );
    }
    if (!METADATA_VALUE.test(value)) {
      throw new ObjectStoreError(
        `Invalid value for metadata ${JSON.stringify(name)}: only printable US-ASCII is allowed.`,
        "InvalidMetadata",
      );
    }
    bytes += Buffer.byteLength(lower) + Buffer.byteLength(value);
    normalized[lower] = value;
  }
  if (bytes > METADATA_BYTES_MAX) {
    throw new ObjectStoreError(
      `User metadata is ${bytes} bytes; S3 allows at most ${METADATA_BYTES_MAX}.`,
      "MetadataTooLarge",
    );
  }
  return normalized;
}
