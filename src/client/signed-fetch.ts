import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";

/** Cairn's own endpoints (/ingest, /tail) are signed exactly like CloudTrail API calls. */
const SIGNING_SERVICE = "cloudtrail";

export interface SignedRequest {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path on the server, e.g. `/ingest`. */
  readonly path: string;
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  /** Signed byte for byte as sent: for a gzipped body, the hash covers the compressed bytes. */
  readonly body?: Uint8Array;
  readonly signal?: AbortSignal;
  /** The SigV4 service scope; `cloudtrail` when absent (AWS-shaped APIs of other services name theirs). */
  readonly service?: string;
}

/** Where and as whom to sign: the part of ClientSettings signing needs (the web console has no more). */
export interface SigningTarget {
  readonly endpointUrl: string;
  readonly region: string;
  readonly credentials: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
}

/** The SigV4 signer of `target`'s key for `service` (`cloudtrail` when absent), for signing and presigning. */
export function signerFor(target: SigningTarget, service = SIGNING_SERVICE): SignatureV4 {
  const { accessKeyId, secretAccessKey, sessionToken } = target.credentials;
  return new SignatureV4({
    service,
    region: target.region,
    sha256: Sha256,
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
  });
}

/** `fetch`, injectable so tests can stand in for the network. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/**
 * Signs a request with SigV4 (service `cloudtrail`) using `settings.credentials`, and sends it.
 *
 * @example
 * const response = await signedFetch(settings, { method: "GET", path: "/tail", query: { fromSeq: "42" } });
 */
export async function signedFetch(
  settings: SigningTarget,
  request: SignedRequest,
  fetchFunction: FetchFunction = fetch,
): Promise<Response> {
  const base = new URL(settings.endpointUrl);
  const basePath = base.pathname.replace(/\/+$/, "");
  const signed = await signerFor(settings, request.service).sign({
    method: request.method,
    protocol: base.protocol,
    hostname: base.hostname,
    ...(base.port ? { port: Number(base.port) } : {}),
    path: basePath + request.path,
    query: request.query ?? {},
    // SigV4 requires `host` among the signed headers; fetch sends the same value.
    headers: { ...request.headers, host: base.host },
    body: request.body,
  });

  const url = new URL(basePath + request.path, base);
  for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.set(name, value);
  const headers = new Headers();
  for (const [name, value] of Object.entries(signed.headers)) {
    // fetch sets `host` itself and refuses to have it set by hand.
    if (name.toLowerCase() !== "host") headers.set(name, value);
  }
  return fetchFunction(url.toString(), {
    method: request.method,
    headers,
    // Bodies here are Buffers or plain Uint8Arrays, never views of a SharedArrayBuffer.
    ...(request.body !== undefined ? { body: request.body as Uint8Array<ArrayBuffer> } : {}),
    ...(request.signal !== undefined ? { signal: request.signal } : {}),
  });
}
