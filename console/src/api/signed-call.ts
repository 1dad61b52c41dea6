import { signedFetch } from "../../../src/client/signed-fetch.js";
import type { Session } from "./session.js";

/**
 * Cairn's own calls the published CloudTrail client does not model (saved Lake queries, the Sigma
 * API): signed by `signedFetch` (SigV4, service `cloudtrail`) as the live tail is; the server authorises
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
  const { body, ...rest } = call;
  const response = await signedFetch(
    { endpointUrl: window.location.origin, region: session.region, credentials: session },
    { ...rest, ...(body !== undefined ? { body: new TextEncoder().encode(body) } : {}) },
  );
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok)
    throw new SignedCallError(
      String(answer["__type"] ?? "Error"),
      String(answer["message"] ?? answer["Message"] ?? `HTTP ${response.status}`),
      { httpStatusCode: response.status },
    );
  return answer as T;
}
