import type { BucketOwnerStore } from "../../stores/bucket-owners/index.js";
import { ObjectStoreError, type ObjectStore } from "../../stores/objects/index.js";
import { listObjectsV1, listObjectsV2 } from "./list-objects.js";
import { checkBucketOwner } from "./s3-access.js";
import { objectResponse } from "./object-response.js";
import { S3RequestError } from "./s3-errors.js";
import type { S3Target } from "./resolve-target.js";
import { S3_NAMESPACE, XML_DECLARATION, element, xmlTimestamp } from "./xml.js";

export interface S3Context {
  readonly store: ObjectStore;
  /** Every bucket of the store; each caller sees those of its own account. */
  readonly listBuckets: () => Promise<string[]>;
  readonly owners: BucketOwnerStore;
  readonly region: string;
  /** Reported as every bucket's CreationDate: the store doesn't record one. */
  readonly startedAtMs: number;
}

export interface S3Reply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Sub-resources of buckets and objects that exist in S3 but not here (NotImplemented, not a listing). */
const UNSUPPORTED_SUBRESOURCES = [
  "accelerate",
  "acl",
  "analytics",
  "attributes",
  "cors",
  "encryption",
  "intelligent-tiering",
  "inventory",
  "legal-hold",
  "lifecycle",
  "logging",
  "metrics",
  "notification",
  "object-lock",
  "ownershipControls",
  "partNumber",
  "policy",
  "policyStatus",
  "publicAccessBlock",
  "replication",
  "requestPayment",
  "restore",
  "retention",
  "select",
  "tagging",
  "torrent",
  "uploadId",
  "uploads",
  "versionId",
  "versioning",
  "versions",
  "website",
];

/**
 * Answers one read request (GET or HEAD) for `target`, made by a principal of `accountId` (already
 * authenticated and authorised): only buckets of that account are listed or read. Everything not
 * found, refused or unsupported is thrown as S3RequestError, which the server renders as S3's
 * `<Error>` document.
 */
export async function handleRead(
  context: S3Context,
  request: { method: "GET" | "HEAD"; target: S3Target; range?: string; accountId: string },
): Promise<S3Reply> {
  const { method, target, range, accountId } = request;
  const unsupported = UNSUPPORTED_SUBRESOURCES.find((name) => target.query.has(name));
  if (unsupported !== undefined) throw new S3RequestError("NotImplemented", { Subresource: unsupported });
  try {
    if (target.bucket === undefined) return await listBuckets(context, accountId);
    await checkBucketOwner(context.owners, context.store, accountId, target.bucket);
    if (target.key === undefined) return await bucketRequest(context, method, target.bucket, target.query);
    const object = await context.store.getObject(target.bucket, target.key);
    if (object === undefined) throw new S3RequestError("NoSuchKey", { Key: target.key });
    return objectResponse(object, range);
  } catch (error) {
    throw toRequestError(error, target);
  }
}

async function bucketRequest(
  context: S3Context,
  method: "GET" | "HEAD",
  bucket: string,
  query: URLSearchParams,
): Promise<S3Reply> {
  if (method === "HEAD" || query.has("location")) {
    if (!(await context.store.bucketExists(bucket))) throw new S3RequestError("NoSuchBucket", { BucketName: bucket });
    // botocore reads this header to pick the region of follow-up requests.
    const headers = { "x-amz-bucket-region": context.region };
    if (method === "HEAD") return { status: 200, headers, body: Buffer.alloc(0) };
    // us-east-1 is reported as an empty constraint, as S3 does; validate-logs maps that back to us-east-1.
    const constraint = context.region === "us-east-1" ? "" : context.region;
    const xml = `${XML_DECLARATION}<LocationConstraint xmlns="${S3_NAMESPACE}">${constraint}</LocationConstraint>`;
    return xmlReply(xml, headers);
  }
  const listType = query.get("list-type");
  if (listType !== null && listType !== "2") {
    throw new S3RequestError("InvalidArgument", { ArgumentName: "list-type", ArgumentValue: listType });
  }
  const xml =
    listType === "2"
      ? await listObjectsV2(context.store, bucket, query)
      : await listObjectsV1(context.store, bucket, query);
  return xmlReply(xml, {});
}

async function listBuckets(context: S3Context, accountId: string): Promise<S3Reply> {
  const owned = new Set(await context.owners.list(accountId));
  const names = (await context.listBuckets()).filter((name) => owned.has(name)).sort();
  const created = xmlTimestamp(context.startedAtMs);
  const buckets = names.map((name) => `<Bucket>${element("Name", name)}${element("CreationDate", created)}</Bucket>`);
  const xml =
    `${XML_DECLARATION}<ListAllMyBucketsResult xmlns="${S3_NAMESPACE}">` +
    `<Owner><ID>cairn</ID><DisplayName>cairn</DisplayName></Owner><Buckets>${buckets.join("")}</Buckets>` +
    `</ListAllMyBucketsResult>`;
  return xmlReply(xml, {});
}

function xmlReply(xml: string, headers: Record<string, string>): S3Reply {
  return { status: 200, headers: { ...headers, "content-type": "application/xml" }, body: Buffer.from(xml, "utf8") };
}

/** Store failures in S3's vocabulary. A key the embedded store refuses to hold can't exist: NoSuchKey. */
function toRequestError(error: unknown, target: S3Target): unknown {
  if (!(error instanceof ObjectStoreError)) return error;
  switch (error.code) {
    case "NoSuchBucket":
      return new S3RequestError("NoSuchBucket", { BucketName: target.bucket ?? "" });
    case "InvalidBucketName":
      return new S3RequestError("InvalidBucketName", { BucketName: target.bucket ?? "" });
    case "InvalidKey":
    case "NoSuchKey":
      return new S3RequestError("NoSuchKey", { Key: target.key ?? "" });
    case "AccessDenied":
      return new S3RequestError("AccessDenied");
    default:
      // The store's message names server paths or its endpoint: the operator's log, not the caller's answer.
      process.stderr.write(`Cairn S3 endpoint: ${error.message}\n`);
      return new S3RequestError("InternalError");
  }
}
