/**
 * A proxied call as the proxy's thread saw it: the raw request line, raw header lists and the body
 * copies, nothing parsed. The proxy's event loop only gathers these facts; turning them into an
 * `ObservedCall` (URL and query parsing, header objects, the SigV4 scope) happens where the record is
 * built, on the recording worker, so that none of it sits between a response and the next request.
 */
import { IncomingMessage } from "node:http";
import type { CapturedResponse } from "../protocols/decode-call.js";
import type { CapturedRequest } from "../protocols/identify.js";
import type { ObservedCall } from "./record-of-call.js";
import { scopeOf, signedRequestOf } from "./scope.js";

export interface CapturedCall {
  readonly method: string;
  /** The request target as sent (path and query). */
  readonly url: string;
  /** `[name, value, name, value…]` as received (Node's `rawHeaders`). */
  readonly rawHeaders: readonly string[];
  /** The request body, or undefined when it was larger than the capture cap. */
  readonly body: Uint8Array | undefined;
  readonly bodyBytes: number;
  readonly status: number;
  readonly responseRawHeaders: readonly string[];
  readonly responseBody: Uint8Array | undefined;
  readonly responseBodyBytes: number;
  readonly sourceIPAddress: string;
  readonly completedAtMs: number;
  readonly tlsDetails?: ObservedCall["tlsDetails"];
}

type HeaderObject = Record<string, string | string[] | undefined>;

// Node's own rule for folding a raw header list into `message.headers` (duplicates joined, dropped or,
// for Set-Cookie, kept as an array), so the decoders see exactly what `incoming.headers` would give.
const addHeaderLine = (
  IncomingMessage.prototype as unknown as {
    _addHeaderLine?: (this: { joinDuplicateHeaders: boolean }, name: string, value: string, into: HeaderObject) => void;
  }
)._addHeaderLine;

/** `message.headers` of a message with these raw headers: lower-case names, duplicates folded as Node does. */
function headersOf(raw: readonly string[]): HeaderObject {
  const headers: HeaderObject = {};
  const options = { joinDuplicateHeaders: false };
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = raw[index]!;
    const value = raw[index + 1]!;
    if (addHeaderLine !== undefined) addHeaderLine.call(options, name, value, headers);
    else {
      const lower = name.toLowerCase();
      if (headers[lower] === undefined) headers[lower] = value;
    }
  }
  return headers;
}

/** The inverse, for answers the proxy builds itself (refusals). */
export function rawHeadersOf(headers: Readonly<Record<string, string>>): string[] {
  return Object.entries(headers).flat();
}

/** Structured cloning turns Buffers into plain Uint8Arrays; the decoders expect Buffers. */
function asBuffer(bytes: Uint8Array | undefined): Buffer | undefined {
  if (bytes === undefined || Buffer.isBuffer(bytes)) return bytes;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The call as the record builder needs it; undefined for an unsigned request (not recorded). */
export function observedCallOf(call: CapturedCall): ObservedCall | undefined {
  const headers = headersOf(call.rawHeaders);
  const body = asBuffer(call.body);
  const scope = scopeOf(signedRequestOf(call.method, call.url, headers, body ?? new Uint8Array()));
  if (scope === undefined) return undefined;
  const question = call.url.indexOf("?");
  const request: CapturedRequest = {
    method: call.method,
    path: question === -1 ? call.url : call.url.slice(0, question),
    rawQuery: question === -1 ? "" : call.url.slice(question + 1),
    headers,
    body,
    bodyBytes: call.bodyBytes,
  };
  const response: CapturedResponse = {
    status: call.status,
    headers: headersOf(call.responseRawHeaders),
    body: asBuffer(call.responseBody),
    bodyBytes: call.responseBodyBytes,
  };
  return {
    scope,
    request,
    response,
    sourceIPAddress: call.sourceIPAddress,
    completedAtMs: call.completedAtMs,
    ...(call.tlsDetails === undefined ? {} : { tlsDetails: call.tlsDetails }),
  };
}
