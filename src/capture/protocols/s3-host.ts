/**
 * S3 virtual-hosted addressing: `GET /key` with `Host: bucket.localhost:7682` (or
 * `bucket.s3.amazonaws.com`, `bucket.s3.us-east-2.amazonaws.com`, `bucket.s3.minio.example`) names the
 * same object as the path-style `GET /bucket/key`. S3's routes in the model are path-style, so such a
 * request is decoded as its path-style form; the Host header is kept (CloudTrail logs it as `Host`).
 */
import { headerText, type CapturedRequest } from "./identify.js";

/** `<bucket>.localhost`, `<bucket>.s3.…`, `<bucket>.s3-<region>.…` (a bucket may contain dots). */
const VIRTUAL_HOST = /^([a-z0-9][a-z0-9.-]*?)\.(?:localhost|s3[.-][^:]*)$/;

/** The bucket named by the Host header, or undefined for path-style and IP hosts. */
export function virtualHostedBucket(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  const name = host.toLowerCase().replace(/:\d+$/, "");
  const match = VIRTUAL_HOST.exec(name);
  return match === null || match[1] === "s3" ? undefined : match[1];
}

/** For S3, the request in path style; any other request unchanged. */
export function pathStyleOf(service: string, request: CapturedRequest): CapturedRequest {
  if (service !== "s3") return request;
  const bucket = virtualHostedBucket(headerText(request.headers, "host"));
  if (bucket === undefined) return request;
  return { ...request, path: `/${bucket}${request.path === "/" ? "" : request.path}` };
}
