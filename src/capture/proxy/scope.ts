/**
 * Reads who signed a request and for which service and region, from the Authorization header or,
 * for presigned URLs, the `X-Amz-Credential` query parameter.
 */
import type { IncomingHttpHeaders } from "node:http";
import { parseSignatureClaim, type IncomingSignedRequest } from "../../auth/sigv4-verify.js";
import type { CallScope } from "./record-of-call.js";

const CREDENTIAL = /^([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request$/;

export function signedRequestOf(
  method: string,
  rawUrl: string,
  headers: IncomingHttpHeaders,
  body: Uint8Array,
): IncomingSignedRequest {
  const url = new URL(rawUrl, "http://placeholder");
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const existing = query[key];
    query[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return { method, path: url.pathname, query, headers, body };
}

/** The scope, or undefined for an unsigned (anonymous) request. */
export function scopeOf(request: IncomingSignedRequest): CallScope | undefined {
  try {
    const claim = parseSignatureClaim(request);
    return { accessKeyId: claim.accessKeyId, region: claim.region, service: claim.service };
  } catch {
    const credential = request.query["X-Amz-Credential"];
    const match = typeof credential === "string" ? CREDENTIAL.exec(credential) : null;
    if (match === null) return undefined;
    return { accessKeyId: match[1]!, region: match[2]!, service: match[3]! };
  }
}
