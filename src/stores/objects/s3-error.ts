import { ObjectStoreError } from "./object-store.js";
import { isTimeout } from "./s3-retry.js";

interface SdkFailure {
  readonly name?: string;
  readonly message?: string;
  readonly code?: string;
  readonly errors?: readonly unknown[];
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** Codes S3 sends without a body (HEAD responses), named after the status as S3's own docs do. */
const STATUS_CODES: Readonly<Record<number, string>> = {
  301: "PermanentRedirect",
  400: "BadRequest",
  403: "AccessDenied",
  404: "NotFound",
  503: "SlowDown",
};

/**
 * Turns whatever the SDK threw into an ObjectStoreError whose message reads well in GetTrailStatus
 * `LatestDeliveryError`, e.g. `S3 PutObject s3://b/k failed: AccessDenied: Access Denied (HTTP 403)`
 * or `S3 PutObject s3://b/k failed: cannot connect to http://127.0.0.1:9: connect ECONNREFUSED …`, or
 * `S3 PutObject s3://b/k failed: no answer from http://127.0.0.1:9000: the request socket timed out after
 * 5000 ms of inactivity (TimeoutError)` for a hung endpoint.
 */
export function toObjectStoreError(
  operation: string,
  target: string,
  endpoint: string,
  error: unknown,
): ObjectStoreError {
  if (error instanceof ObjectStoreError) return error;
  const failure: SdkFailure = typeof error === "object" && error !== null ? (error as SdkFailure) : {};
  const status = failure.$metadata?.httpStatusCode;
  const head = `S3 ${operation} ${target} failed`;
  if (isTimeout(error)) {
    const reason = describe(failure)
      .replace(/^@smithy\/node-http-handler - /, "")
      .replace(/\s*\((configured by|service default)[^)]*\)/, "")
      .replace(/\.$/, "");
    return new ObjectStoreError(`${head}: no answer from ${endpoint}: ${reason} (TimeoutError)`, "TimeoutError", {
      cause: error,
    });
  }
  const networkCode = failure.code ?? innerCode(failure);
  if (status === undefined && networkCode !== undefined) {
    return new ObjectStoreError(`${head}: cannot connect to ${endpoint}: ${describe(failure)}`, networkCode, {
      cause: error,
    });
  }
  const genericName = failure.name === undefined || failure.name === "Unknown" || failure.name === "Error";
  const code =
    genericName || failure.name === "NotFound" || failure.name === "Forbidden"
      ? ((status !== undefined ? STATUS_CODES[status] : undefined) ?? failure.name ?? "UnknownError")
      : failure.name!;
  const message = describe(failure);
  const detail = message === "" || message === code || message === "UnknownError" ? "" : `: ${message}`;
  const statusText = status !== undefined ? ` (HTTP ${status})` : "";
  return new ObjectStoreError(`${head}: ${code}${detail}${statusText}`, code, { cause: error });
}

/** Node reports a refused dual-stack connection as an AggregateError with an empty message. */
function describe(failure: SdkFailure): string {
  if (failure.message !== undefined && failure.message !== "") return failure.message;
  const inner = failure.errors?.find((candidate): candidate is Error => candidate instanceof Error);
  return inner?.message ?? "";
}

function innerCode(failure: SdkFailure): string | undefined {
  const inner = failure.errors?.[0] as SdkFailure | undefined;
  return typeof inner?.code === "string" ? inner.code : undefined;
}
