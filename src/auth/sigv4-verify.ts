import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import { ApiError } from "../lib/api-error.js";

/** Node's native SHA-256/HMAC behind smithy's hash interface (the pure-JS one is ~10x slower on large bodies). */
export class NativeSha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    if (this.secret === undefined) return createHash("sha256");
    const key =
      typeof this.secret === "string"
        ? this.secret
        : Buffer.from(
            ArrayBuffer.isView(this.secret)
              ? this.secret.buffer.slice(this.secret.byteOffset, this.secret.byteOffset + this.secret.byteLength)
              : this.secret,
          );
    return createHmac("sha256", key);
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(
      typeof data === "string"
        ? data
        : ArrayBuffer.isView(data)
          ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
          : new Uint8Array(data),
    );
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

/** How far a request's X-Amz-Date may be from the server clock, as AWS enforces. */
const SIGNATURE_SKEW_MS_MAX = 15 * 60 * 1000;

export interface IncomingSignedRequest {
  readonly method: string;
  /** Path without the query string, as received. */
  readonly path: string;
  readonly query: Record<string, string | string[]>;
  /** Lower-case header names. */
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Uint8Array;
}

/** What the Authorization header claims, parsed before the key is looked up. */
export interface SignatureClaim {
  readonly accessKeyId: string;
  readonly shortDate: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  readonly amzDate: string;
  /** Set for a presigned URL (query-string authentication): how long after X-Amz-Date it is valid. */
  readonly expiresSeconds?: number;
}

/** Whether a route accepts query-string (presigned URL) authentication besides the Authorization header. */
export interface ClaimOptions {
  readonly presigned?: boolean;
}

/** AWS's longest presigned URL validity (SigV4): seven days. */
const PRESIGNED_EXPIRES_SECONDS_MAX = 604_800;

const PRESIGNED_PARAMETERS = [
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-SignedHeaders",
  "X-Amz-Signature",
] as const;

const AUTH_PATTERN =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-f]{64})\s*$/;

const SCOPE_REGION = /^[a-z0-9-]{1,64}$/;

function header(request: IncomingSignedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/**
 * Parses the Authorization header. Throws the error AWS answers with for a missing or malformed
 * header, so that callers can still attribute the refusal to the claimed access key when there is one.
 */
export function parseSignatureClaim(request: IncomingSignedRequest, options: ClaimOptions = {}): SignatureClaim {
  const authorization = header(request, "authorization");
  const queryAuth = request.query["X-Amz-Signature"] !== undefined || request.query["X-Amz-Algorithm"] !== undefined;
  if (queryAuth && options.presigned === true) {
    if (authorization !== undefined && authorization !== "") {
      throw new ApiError(
        "IncompleteSignatureException",
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified.",
      );
    }
    return parsePresignedClaim(request);
  }
  if (authorization === undefined || authorization === "") {
    if (queryAuth) {
      throw new ApiError(
        "IncompleteSignatureException",
        "Query-string (presigned) authentication is not supported here (only by GET /export-events); sign the Authorization header.",
      );
    }
    throw new ApiError("MissingAuthenticationTokenException", "Missing Authentication Token");
  }
  const match = AUTH_PATTERN.exec(authorization);
  if (match === null) {
    throw new ApiError(
      "IncompleteSignatureException",
      `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters for AWS4-HMAC-SHA256. Authorization=${authorization.slice(0, 200)}`,
    );
  }
  const amzDate = header(request, "x-amz-date");
  if (amzDate === undefined || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
    throw new ApiError(
      "IncompleteSignatureException",
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  }
  const [, accessKeyId, shortDate, region, service, signedHeaders, signature] = match as unknown as string[];
  return scopedClaim({
    accessKeyId: accessKeyId!,
    shortDate: shortDate!,
    region: region!,
    service: service!,
    signedHeaders: signedHeaders!.split(";"),
    signature: signature!,
    amzDate,
  });
}

/** The claim, once its scope's region is one: it names where the call is recorded (awsRegion, key folders). */
function scopedClaim(claim: SignatureClaim): SignatureClaim {
  if (!SCOPE_REGION.test(claim.region)) {
    throw new ApiError("InvalidSignatureException", "Credential should be scoped to a valid region.");
  }
  return claim;
}

function queryValue(request: IncomingSignedRequest, name: string): string | undefined {
  const value = request.query[name];
  if (Array.isArray(value)) {
    throw new ApiError("IncompleteSignatureException", `The query-string parameter ${name} must appear once.`);
  }
  return value;
}

const CREDENTIAL_PATTERN = /^([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request$/;

/**
 * A presigned URL's claim (SigV4 query-string authentication): the same fields as the header, from
 * X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Signature, plus X-Amz-Expires (1 s to
 * 7 days, as AWS allows). Messages are AWS's for the same faults.
 */
function parsePresignedClaim(request: IncomingSignedRequest): SignatureClaim {
  const values = PRESIGNED_PARAMETERS.map((name) => queryValue(request, name));
  const [algorithm, credential, amzDate, expires, signedHeaders, signature] = values;
  if (values.some((value) => value === undefined || value === "")) {
    throw new ApiError(
      "IncompleteSignatureException",
      "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'. Re-examine the query-string parameters.",
    );
  }
  if (algorithm !== "AWS4-HMAC-SHA256") {
    throw new ApiError("IncompleteSignatureException", 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256".');
  }
  const scope = CREDENTIAL_PATTERN.exec(credential!);
  if (scope === null) {
    throw new ApiError(
      "IncompleteSignatureException",
      "X-Amz-Credential must be <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request.",
    );
  }
  if (!/^\d{8}T\d{6}Z$/.test(amzDate!)) {
    throw new ApiError(
      "IncompleteSignatureException",
      "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".",
    );
  }
  if (!/^\d{1,7}$/.test(expires!) || Number(expires) < 1) {
    throw new ApiError("IncompleteSignatureException", "X-Amz-Expires should be a number of seconds from 1.");
  }
  if (Number(expires) > PRESIGNED_EXPIRES_SECONDS_MAX) {
    throw new ApiError(
      "IncompleteSignatureException",
      `X-Amz-Expires must be less than a week (in seconds) that is ${PRESIGNED_EXPIRES_SECONDS_MAX}.`,
    );
  }
  if (!/^[0-9a-f]{64}$/.test(signature!)) {
    throw new ApiError("IncompleteSignatureException", "X-Amz-Signature must be 64 lower-case hexadecimal digits.");
  }
  const [, accessKeyId, shortDate, region, service] = scope as unknown as string[];
  return scopedClaim({
    accessKeyId: accessKeyId!,
    shortDate: shortDate!,
    region: region!,
    service: service!,
    signedHeaders: signedHeaders!.split(";"),
    signature: signature!,
    amzDate: amzDate!,
    expiresSeconds: Number(expires),
  });
}

/** An access key id as principals are keyed (src/config/settings.ts ACCESS_KEY_ID_PATTERN). */
const ACCESS_KEY_ID = /^[A-Za-z0-9]{16,128}$/;

/**
 * The access key id a request names, read leniently from a header or presigned query that
 * parseSignatureClaim refuses (a scope whose region is none, say), so that a refusal naming a
 * known key can still be attributed to its principal. Undefined when no plausible key id is named.
 */
export function claimedAccessKeyId(request: IncomingSignedRequest): string | undefined {
  const fromHeader = /Credential=([^/,\s]+)\//.exec(header(request, "authorization") ?? "")?.[1];
  const query = request.query["X-Amz-Credential"];
  const fromQuery = (Array.isArray(query) ? query[0] : query)?.split("/")[0];
  const candidate = fromHeader ?? fromQuery;
  return candidate !== undefined && ACCESS_KEY_ID.test(candidate) ? candidate : undefined;
}

function amzDateToMs(amzDate: string): number {
  const iso = `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`;
  return Date.parse(iso);
}

function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
}

/**
 * A presigned URL is valid from its X-Amz-Date (less the clock skew AWS tolerates) until X-Amz-Date
 * plus X-Amz-Expires; past that it is refused however well signed.
 */
function checkPresignedWindow(claim: SignatureClaim, signedAtMs: number, nowMs: number): void {
  const expiresAtMs = signedAtMs + claim.expiresSeconds! * 1000;
  if (nowMs > expiresAtMs) {
    throw new ApiError(
      "InvalidSignatureException",
      `Signature expired: the presigned URL signed at ${claim.amzDate} for ${claim.expiresSeconds} seconds expired at ${formatAmzDate(expiresAtMs)} (now ${formatAmzDate(nowMs)}).`,
    );
  }
}

/**
 * The checks a claim must pass that need no body: the scope's date matches X-Amz-Date, the time is
 * within the allowed skew, and the host is signed. Run before a body is read (so a stale or
 * replayed header is refused without buffering anything) and again by verifySignature.
 * Returns when the request was signed (epoch ms).
 */
export function checkClaimHeaders(claim: SignatureClaim, nowMs: number): number {
  const signedAtMs = amzDateToMs(claim.amzDate);
  if (!Number.isFinite(signedAtMs) || claim.amzDate.slice(0, 8) !== claim.shortDate) {
    throw new ApiError(
      "InvalidSignatureException",
      "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.",
    );
  }
  if (claim.expiresSeconds !== undefined) checkPresignedWindow(claim, signedAtMs, nowMs);
  else if (signedAtMs < nowMs - SIGNATURE_SKEW_MS_MAX) {
    throw new ApiError(
      "InvalidSignatureException",
      `Signature expired: ${claim.amzDate} is now earlier than ${formatAmzDate(nowMs - SIGNATURE_SKEW_MS_MAX)} (${formatAmzDate(nowMs)} - 15 min.)`,
    );
  }
  if (signedAtMs > nowMs + SIGNATURE_SKEW_MS_MAX) {
    throw new ApiError(
      "InvalidSignatureException",
      `Signature not yet current: ${claim.amzDate} is still later than ${formatAmzDate(nowMs + SIGNATURE_SKEW_MS_MAX)} (${formatAmzDate(nowMs)} + 15 min.)`,
    );
  }
  if (!claim.signedHeaders.includes("host")) {
    throw new ApiError("InvalidSignatureException", "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  }
  return signedAtMs;
}

/**
 * The signature a presigned URL should carry: smithy's presign over the same request, date and
 * expiry. The signed headers stay headers (presign would otherwise hoist x-amz-* ones into the query).
 */
async function presignedSignature(
  signer: SignatureV4,
  toSign: { query: Record<string, string | string[]> } & Parameters<SignatureV4["presign"]>[0],
  signing: { signingDate: Date; signableHeaders: Set<string>; signingRegion: string; signingService: string },
  claim: SignatureClaim,
): Promise<string> {
  const query = { ...toSign.query };
  delete query["X-Amz-Signature"];
  const presigned = await signer.presign(
    { ...toSign, query },
    { ...signing, expiresIn: claim.expiresSeconds!, unhoistableHeaders: signing.signableHeaders },
  );
  const signature = presigned.query?.["X-Amz-Signature"];
  return typeof signature === "string" ? signature : "";
}

/**
 * Verifies a claim against the secret of the key it names by re-signing the request with
 * `@smithy/signature-v4` over exactly the headers the client signed, then comparing in constant time.
 */
export async function verifySignature(
  request: IncomingSignedRequest,
  claim: SignatureClaim,
  secretAccessKey: string,
  options: { nowMs: number; service: string },
): Promise<void> {
  if (claim.service !== options.service) {
    throw new ApiError(
      "InvalidSignatureException",
      `Credential should be scoped to correct service: '${options.service}'.`,
    );
  }
  const signedAtMs = checkClaimHeaders(claim, options.nowMs);
  const bodyHash = createHash("sha256").update(request.body).digest("hex");
  const claimedHash = header(request, "x-amz-content-sha256");
  if (claimedHash !== undefined && claimedHash !== "UNSIGNED-PAYLOAD" && claimedHash !== bodyHash) {
    throw new ApiError(
      "InvalidSignatureException",
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  }
  const headers = Object.fromEntries(claim.signedHeaders.map((name) => [name, header(request, name) ?? ""]));
  const signer = new SignatureV4({
    credentials: { accessKeyId: claim.accessKeyId, secretAccessKey },
    region: claim.region,
    service: claim.service,
    sha256: NativeSha256,
    applyChecksum: false,
    // S3 signs the path as sent (each key segment encoded once); every other service encodes it again.
    uriEscapePath: claim.service !== "s3",
  });
  const toSign = {
    method: request.method,
    protocol: "http:",
    hostname: headers["host"] ?? "",
    path: request.path,
    query: request.query,
    headers,
    body: request.body,
  };
  const signing = {
    signingDate: new Date(signedAtMs),
    signableHeaders: new Set(claim.signedHeaders),
    signingRegion: claim.region,
    signingService: claim.service,
  };
  const expected =
    claim.expiresSeconds === undefined
      ? (/Signature=([0-9a-f]{64})/.exec(
          String((await signer.sign(toSign, signing)).headers["authorization"] ?? ""),
        )?.[1] ?? "")
      : await presignedSignature(signer, toSign, signing, claim);
  const matches =
    expected.length === claim.signature.length && timingSafeEqual(Buffer.from(expected), Buffer.from(claim.signature));
  if (!matches) {
    throw new ApiError(
      "InvalidSignatureException",
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    );
  }
}
