import { Sha256 } from "@aws-crypto/sha256-js";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import type { Session } from "./session.js";

/**
 * Cairn's own calls the published CloudTrail client does not model (saved Lake queries, the Sigma
 * API): signed here with the SDK's SigV4 signer for the service `cloudtrail`; the server authorises
 * and records them like every call.
 */
export interface SignedCall {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly path: string;
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly signal?: AbortSignal;
}

/** An error the server answered, shaped as the SDK's are (name = the AWS error code). */
class SignedCallError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly $metadata: { httpStatusCode: number },
  ) {
    super(message);
  }
}

/** Sends the call signed with the session's key; resolves to the JSON answer, rejects with the AWS error. */
export async function signedCall<T>(session: Session, call: SignedCall): Promise<T> {
  const origin = new URL(window.location.origin);
  const request = new HttpRequest({
    method: call.method,
    protocol: origin.protocol,
    hostname: origin.hostname,
    ...(origin.port !== "" ? { port: Number(origin.port) } : {}),
    path: call.path,
    ...(call.query !== undefined ? { query: call.query } : {}),
    headers: { host: origin.host, ...call.headers },
    ...(call.body !== undefined ? { body: call.body } : {}),
  });
  const signer = new SignatureV4({
    service: "cloudtrail",
    region: session.region,
    credentials: { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey },
    sha256: Sha256,
  });
  const signed = await signer.sign(request);
  // The browser sets Host itself (to the same value that was signed).
  const { host: _host, ...headers } = signed.headers;
  const search = call.query !== undefined ? `?${new URLSearchParams(call.query).toString()}` : "";
  const response = await fetch(`${origin.origin}${call.path}${search}`, {
    method: call.method,
    headers,
    ...(call.body !== undefined ? { body: call.body } : {}),
    ...(call.signal !== undefined ? { signal: call.signal } : {}),
  });
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok)
    throw new SignedCallError(
      String(answer["__type"] ?? "Error"),
      String(answer["message"] ?? answer["Message"] ?? `HTTP ${response.status}`),
      { httpStatusCode: response.status },
    );
  return answer as T;
}
