/**
 * `--verify-signatures`: refuse requests not signed with the secret of a known Cairn principal,
 * answering as AWS does, in the service's error format (JSON for json/rest-json callers, XML else).
 */
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { parseSignatureClaim, verifySignature, type IncomingSignedRequest } from "../../auth/sigv4-verify.js";
import { ApiError, isApiError } from "../../lib/api-error.js";
import { escapeXml } from "../../lib/xml-text.js";
import type { PrincipalStore } from "../../stores/principals/index.js";

/** Resolves when the request is signed with a known key's secret; throws the ApiError to answer otherwise. */
export async function checkSignature(
  request: IncomingSignedRequest,
  principals: PrincipalStore | undefined,
  nowMs: number,
): Promise<void> {
  const claim = parseSignatureClaim(request);
  const principal = await principals?.findByAccessKeyId(claim.accessKeyId);
  if (principal === undefined) {
    throw new ApiError("UnrecognizedClientException", "The security token included in the request is invalid.");
  }
  await verifySignature(request, claim, principal.secretAccessKey, { nowMs, service: claim.service });
}

export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly requestId: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** The answer to a refused request, in the protocol its headers suggest. */
export function refusalOf(error: unknown, headers: IncomingHttpHeaders): Refusal {
  const apiError = isApiError(error)
    ? error
    : new ApiError("InternalFailure", "The request processing has failed because of an unknown error.");
  const requestId = randomUUID();
  const json = headers["x-amz-target"] !== undefined || String(headers["content-type"] ?? "").includes("json");
  const body = json
    ? JSON.stringify({ __type: apiError.code, message: apiError.message })
    : `<ErrorResponse><Error><Type>Sender</Type><Code>${apiError.code}</Code><Message>${escapeXml(apiError.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  return {
    status: apiError.status,
    code: apiError.code,
    message: apiError.message,
    requestId,
    headers: {
      "content-type": json ? "application/x-amz-json-1.1" : "text/xml",
      "x-amzn-requestid": requestId,
      ...apiError.headers,
    },
    body: Buffer.from(body, "utf8"),
  };
}

export function sendRefusal(response: ServerResponse, refusal: Refusal): void {
  response.writeHead(refusal.status, { ...refusal.headers, "content-length": String(refusal.body.length) });
  response.end(refusal.body);
}
