/**
 * Finds the operation of a rest-xml / rest-json request from the model's HTTP routes (`http.method`
 * and `http.requestUri`, e.g. S3 `PUT /{Bucket}/{Key+}`), and reads the members bound to the URI,
 * query string and headers. When several routes match (S3 PutObject, CopyObject and UploadPart share
 * one URI), the one whose required query literals, query members and headers are all present and most
 * numerous wins: CopyObject needs `x-amz-copy-source`, UploadPart `partNumber` and `uploadId`.
 */
import { resolveShape, type Operation, type ServiceModel, type ShapeRef } from "./model-types.js";

interface CompiledRoute {
  readonly operation: Operation;
  readonly method: string;
  readonly pattern: RegExp;
  readonly labels: readonly string[];
  /** `?uploads`, `?list-type=2`: keys (and values) the query string must have. */
  readonly queryLiterals: ReadonlyMap<string, string | undefined>;
  readonly literalLength: number;
}

export interface RestRequestView {
  readonly method: string;
  /** Raw path, percent-encoded as sent, without the query string. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface RestMatch {
  readonly operation: Operation;
  /** URI label → decoded value (`Bucket`, `Key`). */
  readonly labels: Readonly<Record<string, string>>;
}

const routesByModel = new WeakMap<ServiceModel, CompiledRoute[]>();

function compile(model: ServiceModel): CompiledRoute[] {
  const cached = routesByModel.get(model);
  if (cached !== undefined) return cached;
  const routes: CompiledRoute[] = [];
  for (const [name, definition] of Object.entries(model.operations)) {
    const requestUri = definition.http?.requestUri ?? "/";
    const [pathTemplate = "/", queryTemplate = ""] = requestUri.split("?", 2);
    const labels: string[] = [];
    let literalLength = 0;
    const source = pathTemplate.replace(/\{([^}]+)\}|[^{]+/g, (part, label: string | undefined) => {
      if (label === undefined) {
        literalLength += part.length;
        return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      }
      const greedy = label.endsWith("+");
      labels.push(greedy ? label.slice(0, -1) : label);
      return greedy ? "(.+)" : "([^/]+)";
    });
    const queryLiterals = new Map<string, string | undefined>();
    for (const pair of queryTemplate.split("&").filter((p) => p !== "")) {
      const equals = pair.indexOf("=");
      if (equals === -1) queryLiterals.set(pair, undefined);
      else queryLiterals.set(pair.slice(0, equals), pair.slice(equals + 1));
    }
    routes.push({
      operation: { name, ...definition },
      method: definition.http?.method ?? "POST",
      // A trailing slash is optional both ways: the model has `/2015-03-31/functions/`, botocore sends
      // `/2015-03-31/functions`.
      pattern: new RegExp(`^${source.length > 1 ? source.replace(/\/$/, "") : ""}/?$`),
      labels,
      queryLiterals,
      literalLength,
    });
  }
  routesByModel.set(model, routes);
  return routes;
}

/** Required members bound to the query string or headers; -1 when one is missing. */
function requiredBindingsPresent(model: ServiceModel, input: ShapeRef | undefined, request: RestRequestView): number {
  const shape = resolveShape(model, input);
  let count = 0;
  for (const memberName of shape?.required ?? []) {
    const ref = shape?.members?.[memberName];
    const wire = ref?.locationName ?? memberName;
    if (ref?.location === "querystring") {
      if (!request.query.has(wire)) return -1;
      count += 1;
    } else if (ref?.location === "header") {
      if (request.headers[wire.toLowerCase()] === undefined) return -1;
      count += 1;
    }
  }
  return count;
}

/**
 * @example matchRestRoute(s3Model, { method: "PUT", path: "/bucket/a/b.txt", query, headers })
 * // → { operation: PutObject, labels: { Bucket: "bucket", Key: "a/b.txt" } }
 */
export function matchRestRoute(model: ServiceModel, request: RestRequestView): RestMatch | undefined {
  let best: { score: number; match: RestMatch } | undefined;
  for (const route of compile(model)) {
    if (route.method !== request.method) continue;
    const found = route.pattern.exec(request.path);
    if (found === null) continue;
    let literalsPresent = true;
    for (const [key, value] of route.queryLiterals) {
      if (!request.query.has(key) || (value !== undefined && request.query.get(key) !== value)) literalsPresent = false;
    }
    if (!literalsPresent) continue;
    const bindings = requiredBindingsPresent(model, route.operation.input, request);
    if (bindings < 0) continue;
    const score = (route.queryLiterals.size + bindings) * 10_000 + route.literalLength;
    if (best !== undefined && best.score >= score) continue;
    const labels: Record<string, string> = {};
    route.labels.forEach((label, index) => {
      labels[label] = safeDecode(found[index + 1] ?? "");
    });
    best = { score, match: { operation: route.operation, labels } };
  }
  return best?.match;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
