import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { Sha256 } from "@aws-crypto/sha256-js";
import type { Session } from "./session.js";
import { CONSOLE_USER_AGENT } from "./user-agent.js";

/**
 * The console talks to Cairn only through the signed CloudTrail API, like every other client.
 * A pure-JS SHA-256 keeps signing working on plain-HTTP origins, where WebCrypto is unavailable.
 */
export function cloudTrailClient(session: Session): CloudTrailClient {
  return new CloudTrailClient({
    endpoint: window.location.origin,
    region: session.region,
    credentials: { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey },
    sha256: Sha256,
    // A console call should fail visibly and fast; the user can press the button again.
    maxAttempts: 2,
    customUserAgent: [CONSOLE_USER_AGENT],
  });
}

const CREDENTIAL_ERRORS = new Set([
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "IncompleteSignature",
  "MissingAuthenticationToken",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
]);

export interface DescribedError {
  readonly message: string;
  /** AWS error code, when the server answered with one. */
  readonly code?: string;
  /** True when signing in again is the fix. */
  readonly credentials: boolean;
}

/** Turns an SDK or network failure into a sentence a user can act on. */
export function describeError(error: unknown): DescribedError {
  if (typeof error === "object" && error !== null) {
    const named = error as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number } };
    const code = typeof named.name === "string" ? named.name : undefined;
    const message = typeof named.message === "string" ? named.message : String(error);
    if (code !== undefined && CREDENTIAL_ERRORS.has(code)) {
      return {
        code,
        credentials: true,
        message: `Cairn did not accept these credentials (${code}). Check the access key ID and secret in <data-dir>/credentials.`,
      };
    }
    if (named.$metadata?.httpStatusCode === undefined && (code === "TypeError" || /fetch|network/i.test(message))) {
      return { credentials: false, message: `Cairn is not reachable at ${window.location.origin}: ${message}` };
    }
    return { ...(code !== undefined ? { code } : {}), credentials: false, message };
  }
  return { credentials: false, message: String(error) };
}
