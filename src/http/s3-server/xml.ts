import { escapeXml } from "../../lib/xml-text.js";

/** S3's XML namespace; botocore's rest-xml parser tolerates its absence, other clients don't. */
export const S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/";
export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** `<name>escaped text</name>` */
export function element(name: string, text: string | number | boolean): string {
  return `<${name}>${escapeXml(String(text))}</${name}>`;
}

/**
 * S3's timestamp format in XML bodies: ISO 8601 with milliseconds, which S3 always reports as
 * `.000` (object times have second precision, matching `Last-Modified`), e.g. `2026-11-20T10:00:00.000Z`.
 */
export function xmlTimestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

/** `Last-Modified` header format (RFC 7231 IMF-fixdate), e.g. `Fri, 20 Nov 2026 10:00:00 GMT`. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/**
 * `encoding-type=url`: the AWS CLI asks for it on every listing and decodes with
 * `urllib.parse.unquote_plus`, so `+` and space must both be escaped; `/` stays readable as on S3.
 */
export function urlEncodeKey(text: string): string {
  return encodeURIComponent(text).replace(/%2F/g, "/");
}
