/**
 * Which operation of a service model a captured request is, in each protocol's way: `Action` (query,
 * ec2: form body or URL), `X-Amz-Target` (json), or the HTTP route (rest-xml, rest-json). Which way
 * applies to a model is its protocol's codec (protocol-codecs.ts).
 */
import type { Operation, ServiceModel } from "./model-types.js";
import { parseQueryParams } from "./query-request.js";
import { matchRestRoute, type RestMatch } from "./rest-route.js";

export interface CapturedRequest {
  readonly method: string;
  /** Raw path as sent, without the query string. */
  readonly path: string;
  /** Raw query string without `?`. */
  readonly rawQuery: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body, or undefined when it was larger than the capture cap. */
  readonly body: Buffer | undefined;
  /** The body's length on the wire, also when it was too large to keep. */
  readonly bodyBytes?: number;
}

export interface IdentifiedCall {
  readonly model: ServiceModel;
  readonly operation: Operation;
  /** Query / ec2: the decoded form parameters (URL and body). */
  readonly queryParams?: ReadonlyMap<string, string>;
  /** Rest protocols: URI labels. */
  readonly rest?: RestMatch;
}

export function headerText(headers: CapturedRequest["headers"], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

function isFormBody(request: CapturedRequest): boolean {
  return (headerText(request.headers, "content-type") ?? "")
    .toLowerCase()
    .startsWith("application/x-www-form-urlencoded");
}

function queryParamsOf(request: CapturedRequest): Map<string, string> {
  const params = parseQueryParams(request.rawQuery);
  if (request.body !== undefined && isFormBody(request)) {
    for (const [key, value] of parseQueryParams(request.body.toString("utf8"))) params.set(key, value);
  }
  return params;
}

function operationIn(model: ServiceModel, name: string | undefined): Operation | undefined {
  const definition = name === undefined ? undefined : model.operations[name];
  return definition === undefined || name === undefined ? undefined : { name, ...definition };
}

/** query, ec2: the `Action` form parameter (URL or form body). */
export function identifyByAction(model: ServiceModel, request: CapturedRequest): IdentifiedCall | undefined {
  const queryParams = queryParamsOf(request);
  const operation = operationIn(model, queryParams.get("Action"));
  return operation === undefined ? undefined : { model, operation, queryParams };
}

/** json: the `X-Amz-Target` header, `<targetPrefix>.<Operation>`. */
export function identifyByTarget(model: ServiceModel, request: CapturedRequest): IdentifiedCall | undefined {
  const target = headerText(request.headers, "x-amz-target") ?? "";
  const dot = target.lastIndexOf(".");
  if (dot === -1 || target.slice(0, dot) !== model.metadata.targetPrefix) return undefined;
  const operation = operationIn(model, target.slice(dot + 1));
  return operation === undefined ? undefined : { model, operation };
}

/** rest-xml, rest-json: the HTTP method and path against the operations' routes. */
export function identifyByRoute(model: ServiceModel, request: CapturedRequest): IdentifiedCall | undefined {
  const rest = matchRestRoute(model, {
    method: request.method,
    path: request.path,
    query: new URLSearchParams(request.rawQuery),
    headers: request.headers,
  });
  return rest === undefined ? undefined : { model, operation: rest.operation, rest };
}
