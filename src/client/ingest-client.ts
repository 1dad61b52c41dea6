import { gzip } from "node:zlib";
import { promisify } from "node:util";
import type { ClientSettings } from "./client-settings.js";
import { signedFetch, type FetchFunction } from "./signed-fetch.js";

const gzipAsync = promisify(gzip);

/** The server's limits for one `POST /ingest`; a batch never exceeds either. */
export const INGEST_BATCH_RECORDS_MAX = 1000;
/** Counted on the uncompressed JSON body, which is what the server checks after inflating. */
export const INGEST_BATCH_BYTES_MAX = 5 * 1024 * 1024;

export interface IngestBatch {
  /** Index of the batch's first record in its file, to report failures by file position. */
  readonly startIndex: number;
  readonly recordCount: number;
  /** `{"Records":[…]}` */
  readonly body: string;
}

/**
 * Splits records into batches of at most `recordsMax` records and `bytesMax` body bytes, keeping
 * order. A single record larger than `bytesMax` travels alone, and the server reports it.
 */
export function splitIntoBatches(
  records: readonly unknown[],
  recordsMax = INGEST_BATCH_RECORDS_MAX,
  bytesMax = INGEST_BATCH_BYTES_MAX,
): IngestBatch[] {
  const envelopeBytes = Buffer.byteLength('{"Records":[]}');
  const batches: IngestBatch[] = [];
  let parts: string[] = [];
  let bytes = envelopeBytes;
  let startIndex = 0;
  const flush = () => {
    if (parts.length === 0) return;
    batches.push({ startIndex, recordCount: parts.length, body: `{"Records":[${parts.join(",")}]}` });
    startIndex += parts.length;
    parts = [];
    bytes = envelopeBytes;
  };
  for (const record of records) {
    const json = JSON.stringify(record) ?? "null";
    const jsonBytes = Buffer.byteLength(json);
    // The `+ 1` is the comma that joins it to the records before it.
    if (parts.length >= recordsMax || (parts.length > 0 && bytes + 1 + jsonBytes > bytesMax)) flush();
    bytes += jsonBytes + (parts.length > 0 ? 1 : 0);
    parts.push(json);
  }
  flush();
  return batches;
}

export interface IngestFailure {
  readonly index: number;
  readonly errorCode: string;
  readonly message: string;
}

/** The server's answer to one batch, with `failed[].index` relative to the batch. */
export interface IngestResponse {
  readonly accepted: number;
  readonly duplicates: number;
  readonly failed: IngestFailure[];
}

/** The server refused our credentials; every further batch would fail the same way. */
export class IngestAuthError extends Error {
  override readonly name = "IngestAuthError";
}

export interface RetryPolicy {
  /** Attempts per batch, the first included. */
  readonly attemptsMax: number;
  readonly delayMsInitial: number;
  readonly delayMsMax: number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Told before each wait, so a CLI can say why it is pausing. */
  readonly onRetry?: (reason: string, delayMs: number) => void;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attemptsMax: 6,
  delayMsInitial: 250,
  delayMsMax: 10_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Sends one batch gzipped to `POST /ingest`, retrying with exponential back-off (or the server's
 * Retry-After) on 503, 429 and connection errors. Any other refusal fails every record of the batch;
 * 401/403 throw IngestAuthError instead.
 */
export async function sendIngestBatch(
  settings: ClientSettings,
  batch: IngestBatch,
  retry: RetryPolicy = DEFAULT_RETRY_POLICY,
  fetchFunction?: FetchFunction,
): Promise<IngestResponse> {
  const body = new Uint8Array(await gzipAsync(Buffer.from(batch.body, "utf8")));
  let delayMs = retry.delayMsInitial;
  for (let attempt = 1; ; attempt += 1) {
    let response: Response | undefined;
    let connectionError: unknown;
    try {
      response = await signedFetch(
        settings,
        {
          method: "POST",
          path: "/ingest",
          headers: { "content-type": "application/json", "content-encoding": "gzip" },
          body,
        },
        fetchFunction,
      );
    } catch (error) {
      connectionError = error;
    }
    const retryable = response === undefined || response.status === 503 || response.status === 429;
    if (response !== undefined && !retryable) return readIngestResponse(response, batch, settings);
    if (attempt >= retry.attemptsMax) {
      if (response !== undefined) return readIngestResponse(response, batch, settings);
      throw new Error(`Cannot reach ${settings.endpointUrl}: ${describeConnectionError(connectionError)}`);
    }
    await response?.body?.cancel();
    const waitMs = retryAfterMs(response) ?? delayMs;
    const reason = response === undefined ? describeConnectionError(connectionError) : `HTTP ${response.status}`;
    retry.onRetry?.(reason, waitMs);
    await retry.sleep(waitMs);
    delayMs = Math.min(delayMs * 2, retry.delayMsMax);
  }
}

async function readIngestResponse(
  response: Response,
  batch: IngestBatch,
  settings: ClientSettings,
): Promise<IngestResponse> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.status === 401 || response.status === 403) {
    const { credentials } = settings;
    throw new IngestAuthError(
      `The server refused the request (${response.status} ${errorCodeOf(body) ?? ""}): signed with access key ` +
        `${credentials.accessKeyId} from ${credentials.origin}. ${messageOf(body) ?? ""}`.trim(),
    );
  }
  if (response.ok && isIngestAnswer(body)) {
    return { accepted: body.accepted, duplicates: body.duplicates ?? 0, failed: body.failed };
  }
  const errorCode = errorCodeOf(body) ?? `HTTP${response.status}`;
  const message = messageOf(body) ?? (text.slice(0, 200) || response.statusText);
  const failed = Array.from({ length: batch.recordCount }, (_, index) => ({ index, errorCode, message }));
  return { accepted: 0, duplicates: 0, failed };
}

interface IngestAnswer {
  accepted: number;
  duplicates?: number;
  failed: IngestFailure[];
}

function isIngestAnswer(body: unknown): body is IngestAnswer {
  if (typeof body !== "object" || body === null) return false;
  const candidate = body as Record<string, unknown>;
  return typeof candidate.accepted === "number" && Array.isArray(candidate.failed);
}

/** AWS JSON errors name themselves in `__type` (sometimes `prefix#Name`) or `code`. */
function errorCodeOf(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const candidate = body as Record<string, unknown>;
  const code = candidate.__type ?? candidate.code ?? candidate.errorCode;
  return typeof code === "string" ? code.slice(code.lastIndexOf("#") + 1) : undefined;
}

function messageOf(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const candidate = body as Record<string, unknown>;
  const message = candidate.message ?? candidate.Message;
  return typeof message === "string" ? message : undefined;
}

function retryAfterMs(response: Response | undefined): number | undefined {
  const header = response?.headers.get("retry-after");
  if (header === null || header === undefined || !/^\d+$/.test(header)) return undefined;
  return Number(header) * 1000;
}

/** fetch wraps the useful part (ECONNREFUSED…) in `cause`. */
export function describeConnectionError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return `${error.message}${cause}`;
  }
  return String(error);
}
