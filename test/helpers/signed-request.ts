import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { gzipSync } from "node:zlib";

export interface RawRequest {
  method?: string;
  path?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Buffer;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
  service?: string;
  signingDate?: Date;
  /** Skip signing entirely (for unsigned-request tests). */
  unsigned?: boolean;
  /** Return once the status and headers arrive, dropping the body (streams such as /tail never end). */
  headersOnly?: boolean;
  /** Gives up (rejects with a TimeoutError) when the whole answer has not arrived after this long. */
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: () => Record<string, unknown>;
}

/** Signs and sends one request exactly as given, so tests can send what no SDK would. */
export async function sendRaw(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const body =
    request.body === undefined
      ? Buffer.alloc(0)
      : Buffer.isBuffer(request.body)
        ? request.body
        : Buffer.from(request.body);
  const headers: Record<string, string> = { host: url.host, ...request.headers };
  let finalHeaders = headers;
  if (!request.unsigned) {
    const signer = new SignatureV4({
      credentials: { accessKeyId: request.accessKeyId, secretAccessKey: request.secretAccessKey },
      region: request.region ?? "us-east-1",
      service: request.service ?? "cloudtrail",
      sha256: Sha256,
    });
    const signed = await signer.sign(
      {
        method: request.method ?? "POST",
        protocol: "http:",
        hostname: url.hostname,
        port: Number(url.port),
        path: request.path ?? "/",
        query: request.query ?? {},
        headers,
        body,
      },
      request.signingDate ? { signingDate: request.signingDate } : {},
    );
    finalHeaders = signed.headers as Record<string, string>;
  }
  const search = new URLSearchParams(request.query ?? {}).toString();
  const response = await fetch(`${baseUrl}${request.path ?? "/"}${search ? `?${search}` : ""}`, {
    method: request.method ?? "POST",
    headers: Object.fromEntries(Object.entries(finalHeaders).filter(([k]) => k !== "host")),
    ...(request.method === "GET" ? {} : { body }),
    ...(request.timeoutMs !== undefined ? { signal: AbortSignal.timeout(request.timeoutMs) } : {}),
  });
  if (request.headersOnly) await response.body?.cancel();
  const text = request.headersOnly ? "" : await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
  };
}

export function cloudTrailCall(
  target: string,
  body: unknown,
  credentials: { accessKeyId: string; secretAccessKey: string },
  extra: Partial<RawRequest> = {},
): RawRequest {
  return {
    ...credentials,
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.${target}`,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...extra,
  };
}

export function ingestCall(
  records: unknown[],
  credentials: { accessKeyId: string; secretAccessKey: string },
  options: { gzip?: boolean } = {},
): RawRequest {
  const json = Buffer.from(JSON.stringify({ Records: records }));
  return {
    ...credentials,
    path: "/ingest",
    headers: { "content-type": "application/json", ...(options.gzip ? { "content-encoding": "gzip" } : {}) },
    body: options.gzip ? gzipSync(json) : json,
  };
}
