import type { StoredObject } from "../../stores/objects/index.js";
import { S3RequestError } from "./s3-errors.js";
import { httpDate } from "./xml.js";

export interface ObjectResponse {
  readonly status: 200 | 206;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** S3's default when an object was stored without a content type. */
const DEFAULT_CONTENT_TYPE = "binary/octet-stream";

/**
 * Status, headers and body for GetObject/HeadObject. User metadata goes out as `x-amz-meta-<name>`:
 * this is where `aws cloudtrail validate-logs` reads a digest's `signature` and `signature-algorithm`.
 * `Content-Encoding: gzip` is passed through as stored; botocore does not decompress, curl does only when asked.
 */
export function objectResponse(object: StoredObject, rangeHeader: string | undefined): ObjectResponse {
  const headers: Record<string, string> = {
    "accept-ranges": "bytes",
    "content-type": object.contentType ?? DEFAULT_CONTENT_TYPE,
    etag: `"${object.etag}"`,
    "last-modified": httpDate(object.lastModifiedMs),
  };
  if (object.contentEncoding !== undefined) headers["content-encoding"] = object.contentEncoding;
  for (const [name, value] of Object.entries(object.metadata)) headers[`x-amz-meta-${name}`] = value;
  const range = parseRange(rangeHeader, object.body.length);
  if (range === undefined) {
    return { status: 200, headers: { ...headers, "content-length": String(object.body.length) }, body: object.body };
  }
  const body = object.body.subarray(range.first, range.last + 1);
  return {
    status: 206,
    headers: {
      ...headers,
      "content-length": String(body.length),
      "content-range": `bytes ${range.first}-${range.last}/${object.body.length}`,
    },
    body,
  };
}

/**
 * One `bytes=` range (first-last, first-, or -suffix). Like S3, anything it can't use (several
 * ranges, other units, garbage) means the whole object; a range past the end is InvalidRange.
 */
export function parseRange(header: string | undefined, size: number): { first: number; last: number } | undefined {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return undefined;
  const [, firstText = "", lastText = ""] = match;
  if (firstText === "" && lastText === "") return undefined;
  if (size === 0) throw invalidRange(size);
  if (firstText === "") {
    const suffix = Number(lastText);
    if (suffix === 0) throw invalidRange(size);
    return { first: Math.max(0, size - suffix), last: size - 1 };
  }
  const first = Number(firstText);
  const last = lastText === "" ? size - 1 : Math.min(Number(lastText), size - 1);
  if (lastText !== "" && Number(lastText) < first) return undefined;
  if (first >= size) throw invalidRange(size);
  return { first, last };
}

function invalidRange(size: number): S3RequestError {
  return new S3RequestError("InvalidRange", { ActualObjectSize: String(size) });
}
