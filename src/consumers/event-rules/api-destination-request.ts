import { evaluateJsonPath, parseJsonPath } from "../../event-patterns/json-path.js";
import type { ApiDestinationInvocation, ConnectionParameter } from "./api-destination-types.js";

/**
 * The headers EventBridge sends with every call besides the authorization ones (its "Headers
 * included in requests to API destinations"); `Host` and `Content-Length` are the HTTP client's
 * to set. The Fetch standard has Node's fetch append `identity` to Accept-Encoding because of the
 * Range header. EventBridge also sends `Connection: close`; Cairn keeps the connection open instead
 * (fetch's keep-alive pool, per origin), since a new connection per call was most of a delivery's
 * cost (bench/detection.ts). A call on a pooled connection the endpoint closed meanwhile fails as a
 * reset and is retried on the target's schedule, as any reset is.
 */
const EVENTBRIDGE_HEADERS: Readonly<Record<string, string>> = {
  "user-agent": "Amazon/EventBridge/ApiDestinations",
  "content-type": "application/json; charset=utf-8",
  range: "bytes=0-1048575",
  "accept-encoding": "gzip,deflate",
};

/**
 * Headers a parameter may not set: they describe the connection or the framing, which are the
 * HTTP client's, and some make every attempt fail (fetch refuses Transfer-Encoding, Upgrade…).
 */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "expect",
  "te",
  "trailer",
  "proxy-connection",
]);

function setHeader(headers: Record<string, string>, name: string, value: string): void {
  const key = name.toLowerCase();
  if (!RESERVED_HEADERS.has(key)) headers[key] = value;
}

/** A request ready to send, without its authorization (added last, from the connection). */
export interface PreparedRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/** A parameter value: a JSON path (`$.detail.x`) reads the event; a string value is used as it is. */
function resolved(value: string, event: unknown): string {
  if (!value.startsWith("$")) return value;
  const path = parseJsonPath(value);
  if (path === undefined) return value;
  const found = evaluateJsonPath(path, event);
  if (found === undefined) return "";
  return typeof found === "string" ? found : JSON.stringify(found);
}

/**
 * A header value read from the event, kept to the printable ASCII a header may carry (a value
 * with a line break would otherwise make every attempt fail the same way).
 */
function headerValue(value: string): string {
  return value.replace(/[^\t\x20-\x7e]/g, "");
}

/** The endpoint with each `*` replaced, in order, by a path parameter value (percent-encoded). */
function endpointUrl(invocation: ApiDestinationInvocation): URL {
  const values = (invocation.httpParameters?.pathParameterValues ?? []).map((value) =>
    resolved(value, invocation.event),
  );
  let index = 0;
  const filled = invocation.destination.invocationEndpoint.replace(/\*/g, (star) => {
    const value = values[index++];
    return value === undefined ? star : encodeURIComponent(value);
  });
  return new URL(filled);
}

function connectionEntries(entries: readonly ConnectionParameter[] | undefined): Array<[string, string]> {
  return (entries ?? []).map(({ key, value }) => [key, value]);
}

/**
 * The body: the target's input, with the connection's body parameters added as members when the
 * input is a JSON object (the connection's values win, as its parameters win over the target's).
 * GET and HEAD carry no body.
 */
function bodyOf(invocation: ApiDestinationInvocation): string | undefined {
  const method = invocation.destination.httpMethod;
  if (method === "GET" || method === "HEAD") return undefined;
  const parameters = connectionEntries(invocation.destination.connection.invocationHttpParameters?.bodyParameters);
  if (parameters.length === 0) return invocation.body;
  let input: unknown;
  try {
    input = JSON.parse(invocation.body);
  } catch {
    return invocation.body;
  }
  if (input === null || typeof input !== "object" || Array.isArray(input)) return invocation.body;
  return JSON.stringify({ ...input, ...Object.fromEntries(parameters) });
}

/**
 * The request for one invocation: the endpoint with its path parameters, the target's query and
 * header parameters merged with the connection's (the connection's win, as EventBridge documents),
 * EventBridge's own headers, and the body.
 */
export function prepareRequest(invocation: ApiDestinationInvocation): PreparedRequest {
  const { destination, httpParameters, event } = invocation;
  const url = endpointUrl(invocation);
  const connection = destination.connection.invocationHttpParameters;
  for (const [key, value] of Object.entries(httpParameters?.queryStringParameters ?? {}))
    url.searchParams.set(key, resolved(value, event));
  for (const [key, value] of connectionEntries(connection?.queryStringParameters)) url.searchParams.set(key, value);
  const headers: Record<string, string> = { ...EVENTBRIDGE_HEADERS };
  for (const [key, value] of Object.entries(httpParameters?.headerParameters ?? {})) {
    setHeader(headers, key, headerValue(resolved(value, event)));
  }
  for (const [key, value] of connectionEntries(connection?.headerParameters))
    setHeader(headers, key, headerValue(value));
  const body = bodyOf(invocation);
  return { url, method: destination.httpMethod, headers, ...(body === undefined ? {} : { body }) };
}
