/**
 * S3's `additionalEventData`, which CloudTrail writes on every S3 call, bucket and object level alike,
 * in this order (CloudTrail's S3 records):
 * `{"SignatureVersion": "SigV4", "CipherSuite": "ECDHE-RSA-AES128-GCM-SHA256", "bytesTransferredIn": 139,
 *   "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "…", "bytesTransferredOut": 0}`.
 * `CipherSuite` only when the client called over TLS; `x-amz-id-2` when the upstream answered with one.
 */
import type { CapturedResponse } from "./decode-call.js";
import { headerText, type CapturedRequest } from "./identify.js";

/** How the request was signed: the Authorization header (SigV4 or SigV2) or a presigned URL. */
function signatureOf(request: CapturedRequest): { version: string; method: string } | undefined {
  const authorization = headerText(request.headers, "authorization") ?? "";
  if (authorization.startsWith("AWS4-")) return { version: "SigV4", method: "AuthHeader" };
  if (authorization.startsWith("AWS ")) return { version: "SigV2", method: "AuthHeader" };
  const query = new URLSearchParams(request.rawQuery);
  if (query.has("X-Amz-Credential")) return { version: "SigV4", method: "QueryString" };
  if (query.has("AWSAccessKeyId")) return { version: "SigV2", method: "QueryString" };
  return undefined;
}

/** Bytes of a body as S3 counts them: an `aws-chunked` upload counts its decoded length. */
function requestBytes(request: CapturedRequest): number {
  const decoded = Number(headerText(request.headers, "x-amz-decoded-content-length"));
  if (Number.isSafeInteger(decoded) && decoded >= 0) return decoded;
  return request.bodyBytes ?? request.body?.length ?? 0;
}

export function s3AdditionalEventData(
  request: CapturedRequest,
  response: CapturedResponse,
  cipherSuite: string | undefined,
): Record<string, unknown> {
  const signature = signatureOf(request);
  const id2 = headerText(response.headers, "x-amz-id-2");
  return {
    ...(signature === undefined ? {} : { SignatureVersion: signature.version }),
    ...(cipherSuite === undefined ? {} : { CipherSuite: cipherSuite }),
    bytesTransferredIn: requestBytes(request),
    ...(signature === undefined ? {} : { AuthenticationMethod: signature.method }),
    ...(id2 === undefined || id2 === "" ? {} : { "x-amz-id-2": id2 }),
    bytesTransferredOut: response.bodyBytes ?? response.body?.length ?? 0,
  };
}
