/**
 * Who may read what through the S3 endpoint: every request is signed (SigV4, service `s3`) by a
 * principal's access key, authorised through the IAM seam (src/auth/authorizer.ts) for its S3 action
 * and resource, and reaches only buckets of the principal's account (docs/reference/s3.md, "Access").
 * Refusals are S3's own XML errors: an unsigned request is AccessDenied, as S3 answers an anonymous
 * request to a private bucket.
 */
import type { IncomingMessage } from "node:http";
import { authenticate } from "../../auth/authenticate.js";
import { authorize, type Authorizer } from "../../auth/authorizer.js";
import type { IncomingSignedRequest } from "../../auth/sigv4-verify.js";
import { ApiError } from "../../lib/api-error.js";
import type { BucketOwnerStore } from "../../stores/bucket-owners/index.js";
import type { ObjectStore } from "../../stores/objects/index.js";
import type { Principal, PrincipalStore } from "../../stores/principals/index.js";
import { S3RequestError } from "./s3-errors.js";
import type { S3Target } from "./resolve-target.js";

/** Verifies the request's signature against its access key's secret; the signer, or an S3 error. */
export async function authenticateS3(
  principals: PrincipalStore,
  request: IncomingMessage,
  nowMs: number,
): Promise<Principal> {
  const signed = signedRequestOf(request);
  try {
    return (await authenticate(signed, principals, {}, nowMs, "s3")).principal;
  } catch (error) {
    throw error instanceof ApiError ? s3AuthenticationError(error, signed) : error;
  }
}

/** The request as SigV4 signed it: S3 signs the path exactly as sent, and reads carry no body. */
function signedRequestOf(request: IncomingMessage): IncomingSignedRequest {
  const rawUrl = request.url ?? "/";
  const queryStart = rawUrl.indexOf("?");
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(queryStart === -1 ? "" : rawUrl.slice(queryStart + 1))) {
    const existing = query[key];
    query[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return {
    method: request.method ?? "GET",
    path: queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart),
    query,
    headers: request.headers as IncomingSignedRequest["headers"],
    body: new Uint8Array(0),
  };
}

/** SigV4's refusals (src/auth/sigv4-verify.ts) in S3's vocabulary. */
function s3AuthenticationError(error: ApiError, signed: IncomingSignedRequest): S3RequestError {
  switch (error.code) {
    case "MissingAuthenticationTokenException":
      return new S3RequestError("AccessDenied");
    case "IncompleteSignatureException":
      return signed.query["X-Amz-Signature"] !== undefined
        ? new S3RequestError("AccessDenied", {}, error.message)
        : new S3RequestError("AuthorizationHeaderMalformed", {}, error.message);
    case "UnrecognizedClientException":
      return new S3RequestError("InvalidAccessKeyId");
    case "InvalidSignatureException":
      if (/^Signature (expired|not yet current)/.test(error.message))
        return new S3RequestError("RequestTimeTooSkewed", {}, error.message);
      if (error.message.startsWith("Credential should be scoped"))
        return new S3RequestError("AuthorizationHeaderMalformed", {}, error.message);
      return new S3RequestError("SignatureDoesNotMatch");
    default:
      return new S3RequestError("AccessDenied");
  }
}

/** The IAM action and resource of a read, as the service authorization reference names them for S3. */
function actionOf(target: S3Target): { action: string; resource: string; context?: Record<string, string> } {
  if (target.bucket === undefined) return { action: "s3:ListAllMyBuckets", resource: "*" };
  if (target.key !== undefined)
    return { action: "s3:GetObject", resource: `arn:aws:s3:::${target.bucket}/${target.key}` };
  const resource = `arn:aws:s3:::${target.bucket}`;
  if (target.query.has("location")) return { action: "s3:GetBucketLocation", resource };
  const prefix = target.query.get("prefix");
  return { action: "s3:ListBucket", resource, ...(prefix !== null ? { context: { "s3:prefix": prefix } } : {}) };
}

export interface S3Caller {
  readonly principal: Principal;
  readonly sourceIp?: string;
  readonly nowMs: number;
}

/** Asks the IAM seam whether the caller may make this read; a denial is S3's AccessDenied, worded as IAM words it. */
export async function authorizeS3(authorizer: Authorizer, caller: S3Caller, target: S3Target): Promise<void> {
  try {
    await authorize(authorizer, {
      principal: caller.principal,
      ...actionOf(target),
      nowMs: caller.nowMs,
      ...(caller.sourceIp !== undefined ? { sourceIp: caller.sourceIp } : {}),
      secureTransport: false,
    });
  } catch (error) {
    if (error instanceof ApiError && error.code === "AccessDeniedException")
      throw new S3RequestError("AccessDenied", {}, error.message);
    throw error;
  }
}

/**
 * A bucket is readable by its owner's account only. Another account's bucket, or an unowned one that
 * exists, is AccessDenied; an unowned one that does not exist is NoSuchBucket, as S3 tells anyone.
 */
export async function checkBucketOwner(
  owners: BucketOwnerStore,
  store: ObjectStore,
  accountId: string,
  bucket: string,
): Promise<void> {
  const owner = await owners.ownerOf(bucket);
  if (owner === accountId) return;
  if (owner === undefined && !(await store.bucketExists(bucket)))
    throw new S3RequestError("NoSuchBucket", { BucketName: bucket });
  throw new S3RequestError("AccessDenied");
}
