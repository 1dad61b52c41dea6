import { S3RequestError } from "./s3-errors.js";

/** What an S3 request addresses: the service (no bucket), a bucket, or an object. */
export interface S3Target {
  readonly bucket?: string;
  readonly key?: string;
  readonly query: URLSearchParams;
}

/** Virtual-hosted requests arrive as `<bucket>.localhost`, which resolves to loopback per RFC 6761. */
const VIRTUAL_HOST_SUFFIX = ".localhost";

/**
 * Splits a request into bucket, key and query. Path style (`/bucket/key`) is what clients use for
 * an IP-literal endpoint such as `http://127.0.0.1:7681`; virtual-hosted style (`bucket.localhost`)
 * is what botocore uses for a DNS-name endpoint such as `http://localhost:7681`.
 *
 * @example
 * resolveTarget("127.0.0.1:7681", "/trail-bucket/AWSLogs/a%20b?x-id=GetObject")
 * // → { bucket: "trail-bucket", key: "AWSLogs/a b", query }
 */
export function resolveTarget(hostHeader: string | undefined, rawUrl: string): S3Target {
  const queryStart = rawUrl.indexOf("?");
  const rawPath = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
  const query = new URLSearchParams(queryStart === -1 ? "" : rawUrl.slice(queryStart + 1));
  if (!rawPath.startsWith("/")) throw new S3RequestError("InvalidURI");
  const virtualBucket = bucketFromHost(hostHeader);
  if (virtualBucket !== undefined) {
    const key = decode(rawPath.slice(1));
    return { bucket: virtualBucket, ...(key !== "" ? { key } : {}), query };
  }
  const rest = rawPath.slice(1);
  if (rest === "") return { query };
  const slash = rest.indexOf("/");
  const bucket = decode(slash === -1 ? rest : rest.slice(0, slash));
  const key = slash === -1 ? "" : decode(rest.slice(slash + 1));
  return { bucket, ...(key !== "" ? { key } : {}), query };
}

function bucketFromHost(hostHeader: string | undefined): string | undefined {
  if (hostHeader === undefined) return undefined;
  // Drop the port; an IPv6 literal (`[::1]:7681`) is never a virtual host.
  const hostname = hostHeader.startsWith("[") ? "" : hostHeader.replace(/:\d+$/, "").toLowerCase();
  if (!hostname.endsWith(VIRTUAL_HOST_SUFFIX)) return undefined;
  const bucket = hostname.slice(0, -VIRTUAL_HOST_SUFFIX.length);
  return bucket === "" ? undefined : bucket;
}

/** Path segments are percent-encoded; unlike a query string, `+` is a literal plus here. */
function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new S3RequestError("InvalidURI");
  }
}
