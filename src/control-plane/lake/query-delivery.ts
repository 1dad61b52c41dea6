/**
 * Saved query results (spec §7.4): when StartQuery names a `DeliveryS3Uri`, the finished query's rows
 * go to `s3://<bucket>/[<prefix>/]AWSLogs/<account>/CloudTrail-Lake/Query/<YYYY>/<MM>/<DD>/<queryId>/`
 * as gzip CSV files `result_1.csv.gz`, `result_2.csv.gz`… and a `result_sign.json` that signs them:
 * `hashSignature` = SHA256withRSA over the files' hex SHA-256 (of the compressed bytes) joined with
 * single spaces, with the region's digest signing key (src/trails/integrity/), so the public key comes
 * from ListPublicKeys by `publicKeyFingerprint`, exactly as `aws cloudtrail verify-query-results`
 * checks it. Objects go to the object store trails use (embedded buckets or CAIRN_S3_ENDPOINT).
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { ApiError } from "../../lib/api-error.js";
import { accountObjectStore, type BucketOwnerStore } from "../../stores/bucket-owners/index.js";
import type { ObjectStore } from "../../stores/objects/index.js";
import type { SigningKeyStore } from "../../stores/signing-keys/index.js";
import { SIGNATURE_ALGORITHM } from "../../model/digest-format.js";
import type { QueryRows } from "../../lake/engine/query-engine.js";
import { claimBucket, refuseForeignBucket } from "../bucket-access.js";

const SIGN_FILE_NAME = "result_sign.json";
/** A result file holds at most this much CSV before compression; AWS's limit is 1 TB per file. */
const MAX_FILE_CSV_BYTES = 256 * 1024 * 1024;
const DELIVERY_URI = /^s3:\/\/([a-z0-9][.\-a-z0-9]{1,61}[a-z0-9])(?:\/(.*))?$/s;

export type DeliveryStatus =
  | "SUCCESS"
  | "FAILED"
  | "FAILED_SIGNING_FILE"
  | "PENDING"
  | "RESOURCE_NOT_FOUND"
  | "ACCESS_DENIED"
  | "ACCESS_DENIED_SIGNING_FILE"
  | "CANCELLED"
  | "UNKNOWN";

export interface DeliveryTarget {
  readonly bucket: string;
  /** Without leading or trailing slashes; "" for the bucket's root. */
  readonly prefix: string;
}

export interface DeliveryDeps {
  readonly objectStore: ObjectStore;
  /** Results go only to a bucket of the query's account (or of no account yet, which then becomes its). */
  readonly owners: BucketOwnerStore;
  readonly keys: SigningKeyStore;
  /** The embedded store makes a missing bucket, as CreateTrail does; an external S3 must have it. */
  readonly createMissingBuckets: boolean;
}

/** Parses and checks `DeliveryS3Uri` (model pattern `s3://[a-z0-9][\.\-a-z0-9]{1,61}[a-z0-9](/.*)?`). */
export function parseDeliveryUri(uri: string): DeliveryTarget {
  if (uri.length > 1024)
    throw new ApiError("InvalidParameterException", "DeliveryS3Uri is longer than 1024 characters.");
  const match = DELIVERY_URI.exec(uri);
  if (match === null) {
    if (!uri.startsWith("s3://"))
      throw new ApiError("InvalidParameterException", "DeliveryS3Uri must have the form s3://<bucket>[/<prefix>].");
    throw new ApiError("InvalidS3BucketNameException", `The bucket name in ${uri} is not valid.`);
  }
  const prefix = (match[2] ?? "").replace(/^\/+|\/+$/g, "");
  if (prefix.includes("//") || prefix.length > 900)
    throw new ApiError("InvalidS3PrefixException", `The prefix in ${uri} is not valid.`);
  return { bucket: match[1]!, prefix };
}

/**
 * StartQuery's check: another account's bucket is InsufficientS3BucketPolicyException; the bucket
 * exists (or, embedded, is created), else S3BucketDoesNotExistException; then it is the caller's. A
 * store that cannot be asked does not refuse the query; its delivery status shows the failure.
 */
export async function checkDeliveryBucket(
  deps: DeliveryDeps,
  target: DeliveryTarget,
  accountId: string,
): Promise<void> {
  await refuseForeignBucket(deps.owners, target.bucket, accountId, "InsufficientS3BucketPolicyException");
  const missing = new ApiError("S3BucketDoesNotExistException", `S3 bucket ${target.bucket} does not exist!`);
  let exists: boolean;
  try {
    exists = await deps.objectStore.bucketExists(target.bucket);
  } catch {
    // Unreachable or forbidden: the query runs, and DeliveryStatus tells what the delivery met.
    return;
  }
  if (!exists) {
    if (!deps.createMissingBuckets) throw missing;
    try {
      await deps.objectStore.ensureBucket(target.bucket);
    } catch {
      throw missing;
    }
  }
  await claimBucket(deps.owners, target.bucket, accountId, "InsufficientS3BucketPolicyException");
}

/** The folder of a query's files (ends with `/`). */
export function deliveryFolder(target: DeliveryTarget, accountId: string, queryId: string, whenMs: number): string {
  const day = new Date(whenMs).toISOString().slice(0, 10).replaceAll("-", "/");
  const root = target.prefix === "" ? "" : `${target.prefix}/`;
  return `${root}AWSLogs/${accountId}/CloudTrail-Lake/Query/${day}/${queryId}/`;
}

/** RFC 4180 field: quoted when it holds a comma, quote, CR or LF. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The CSV bodies of the result files: a header row of column names, then the rows as GetQueryResults shows them. */
export function csvFiles(result: QueryRows, maxBytes = MAX_FILE_CSV_BYTES): Buffer[] {
  const header = `${result.columns.map(csvField).join(",")}\n`;
  const files: Buffer[] = [];
  let lines: string[] = [header];
  let size = header.length;
  for (const row of result.rows) {
    const line = `${row.map(csvField).join(",")}\n`;
    if (size + line.length > maxBytes && lines.length > 1) {
      files.push(Buffer.from(lines.join(""), "utf8"));
      lines = [header];
      size = header.length;
    }
    lines.push(line);
    size += line.length;
  }
  files.push(Buffer.from(lines.join(""), "utf8"));
  return files;
}

function statusOf(error: unknown, signing: boolean): DeliveryStatus {
  const code = (error as { code?: unknown }).code;
  if (code === "NoSuchBucket") return "RESOURCE_NOT_FOUND";
  if (code === "AccessDenied" || code === "Forbidden") return signing ? "ACCESS_DENIED_SIGNING_FILE" : "ACCESS_DENIED";
  return signing ? "FAILED_SIGNING_FILE" : "FAILED";
}

export interface DeliveryOutcome {
  readonly status: DeliveryStatus;
  /** Keys written, result files first and the sign file last. */
  readonly keys: string[];
  readonly message?: string;
}

/**
 * Writes the result files, then the signed `result_sign.json`. Never throws: a failure becomes the
 * DeliveryStatus DescribeQuery reports.
 */
export async function deliverResults(
  deps: DeliveryDeps,
  options: {
    readonly target: DeliveryTarget;
    readonly accountId: string;
    readonly region: string;
    readonly queryId: string;
    readonly completeMs: number;
    readonly result: QueryRows;
  },
): Promise<DeliveryOutcome> {
  const folder = deliveryFolder(options.target, options.accountId, options.queryId, options.completeMs);
  // StartQuery checked the bucket; this store refuses it again (ACCESS_DENIED) should it not be the account's.
  const objectStore = accountObjectStore(deps.objectStore, deps.owners, options.accountId);
  const keys: string[] = [];
  const files: Array<{ fileHashValue: string; fileName: string }> = [];
  try {
    const bodies = csvFiles(options.result);
    for (const [index, csv] of bodies.entries()) {
      const body = gzipSync(csv);
      const fileName = `result_${index + 1}.csv.gz`;
      await objectStore.putObject(options.target.bucket, folder + fileName, body, {
        contentType: "text/csv",
        contentEncoding: "gzip",
      });
      keys.push(folder + fileName);
      files.push({ fileHashValue: createHash("sha256").update(body).digest("hex"), fileName });
    }
  } catch (error) {
    return { status: statusOf(error, false), keys, message: String(error) };
  }
  try {
    const key = await deps.keys.signingKey(options.region);
    const signFile = {
      version: "1.0",
      region: options.region,
      files,
      hashAlgorithm: "SHA-256",
      signatureAlgorithm: SIGNATURE_ALGORITHM,
      queryCompleteTime: new Date(Math.floor(options.completeMs / 1000) * 1000).toISOString().replace(".000Z", "Z"),
      hashSignature: key.signHex(files.map((f) => f.fileHashValue).join(" ")),
      publicKeyFingerprint: key.fingerprint,
    };
    await objectStore.putObject(
      options.target.bucket,
      folder + SIGN_FILE_NAME,
      Buffer.from(JSON.stringify(signFile), "utf8"),
      { contentType: "application/json" },
    );
    keys.push(folder + SIGN_FILE_NAME);
  } catch (error) {
    return { status: statusOf(error, true), keys, message: String(error) };
  }
  return { status: "SUCCESS", keys };
}
