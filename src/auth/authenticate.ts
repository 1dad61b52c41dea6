import type { FastifyRequest } from "fastify";
import type { Principal, PrincipalStore } from "../stores/principals/index.js";
import { ApiError } from "../lib/api-error.js";
import {
  checkClaimHeaders,
  claimedAccessKeyId,
  parseSignatureClaim,
  verifySignature,
  type ClaimOptions,
  type IncomingSignedRequest,
  type SignatureClaim,
} from "./sigv4-verify.js";

/** Who a request claims to be, known even when authentication then fails, so the refusal can be audited. */
export interface CallerAttribution {
  claim?: SignatureClaim;
  principal?: Principal;
}

export function toSignedRequest(request: FastifyRequest, body: Uint8Array): IncomingSignedRequest {
  const url = new URL(request.url, "http://placeholder");
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const existing = query[key];
    query[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return {
    method: request.method,
    path: url.pathname,
    query,
    headers: request.headers as IncomingSignedRequest["headers"],
    body,
  };
}

/**
 * Verifies SigV4 against the principal that owns the access key. Fills `attribution` as it learns
 * who is calling, before it throws, so that refused calls are recorded with the claimed identity.
 */
export async function authenticate(
  signed: IncomingSignedRequest,
  principals: PrincipalStore,
  attribution: CallerAttribution,
  nowMs: number,
  service = "cloudtrail",
  options: ClaimOptions = {},
): Promise<{ principal: Principal; claim: SignatureClaim }> {
  const { claim, principal } = await claimedPrincipal(signed, principals, attribution, options);
  await verifySignature(signed, claim, principal.secretAccessKey, { nowMs, service });
  return { principal, claim };
}

/**
 * The part of authentication that needs no body, run before one is read: a well-formed
 * Authorization header, a key the principal store knows, a signing time within the allowed skew.
 * When the header is refused but names a known key (read leniently), the principal is still noted
 * in `attribution`: the refusal is then attributable, and recorded as that caller's.
 */
export async function authenticateHeaders(
  signed: IncomingSignedRequest,
  principals: PrincipalStore,
  attribution: CallerAttribution,
  nowMs: number,
  options: ClaimOptions = {},
): Promise<void> {
  try {
    const { claim } = await claimedPrincipal(signed, principals, attribution, options);
    checkClaimHeaders(claim, nowMs);
  } catch (error) {
    // Only a header the strict parser refused needs the lenient read; a parsed key was looked up already.
    const accessKeyId = attribution.claim === undefined ? claimedAccessKeyId(signed) : undefined;
    const principal = accessKeyId === undefined ? undefined : await principals.findByAccessKeyId(accessKeyId);
    if (principal !== undefined) attribution.principal = principal;
    throw error;
  }
}

async function claimedPrincipal(
  signed: IncomingSignedRequest,
  principals: PrincipalStore,
  attribution: CallerAttribution,
  options: ClaimOptions,
): Promise<{ claim: SignatureClaim; principal: Principal }> {
  const claim = parseSignatureClaim(signed, options);
  attribution.claim = claim;
  const principal = await principals.findByAccessKeyId(claim.accessKeyId);
  if (principal === undefined) {
    throw new ApiError("UnrecognizedClientException", "The security token included in the request is invalid.");
  }
  attribution.principal = principal;
  return { claim, principal };
}
