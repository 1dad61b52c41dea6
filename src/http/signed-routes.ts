import type { FastifyRequest } from "fastify";
import type { CallerAttribution } from "../auth/authenticate.js";
import type { ApiError } from "../lib/api-error.js";
import type { ErrorFormat } from "./send-error.js";

/**
 * What the request gate (request-gate.ts) must know of a signed route before its handler runs:
 * every audited route is one, so no signed route can be added without the gate in front of it.
 */
export interface SignedRouteFacts {
  /** Error bodies: AWS JSON 1.1 (`__type`), REST-JSON (cloudtrail-data), or IAM's Query-protocol XML. */
  readonly errorFormat: ErrorFormat;
  /** The name a refused call is recorded under. */
  readonly eventName: (request: FastifyRequest) => string;
  readonly readOnly: (eventName: string) => boolean;
  /** The service a refused call is recorded under, when not CloudTrail (cloudtrail-data). */
  readonly eventSource?: string | undefined;
  /** Accepts a presigned URL (query-string SigV4) as well as the Authorization header (decision 0026). */
  readonly presigned?: boolean | undefined;
}

/** A refusal decided from the headers alone, for a caller whose key names a known principal. */
export interface RefusalBeforeBody {
  readonly error: ApiError;
  readonly attribution: CallerAttribution;
}

// Keyed by the handler function as a route is registered with it, and by the request: both live
// exactly as long as what they describe.
const signedHandlers = new WeakMap<object, SignedRouteFacts>();
const refusals = new WeakMap<FastifyRequest, RefusalBeforeBody>();
/** Where a route's facts travel in its Fastify config (Fastify keeps a bound copy of the handler). */
const SIGNED_ROUTE = "cairnSignedRoute";

export function markSignedRoute(handler: object, facts: SignedRouteFacts): void {
  signedHandlers.set(handler, facts);
}

/** Chooses, per request, which of several signed handlers a shared route runs (`POST /`: CloudTrail or IAM). */
type Dispatch = (request: FastifyRequest) => object;
const dispatchers = new WeakMap<object, Dispatch>();
const DISPATCH = "cairnSignedDispatch";

/** Marks a handler that passes each request to the signed handler `choose` names; the gate applies that one's facts. */
export function markDispatchingRoute(handler: object, choose: Dispatch): void {
  dispatchers.set(handler, choose);
}

/**
 * Copies a signed handler's facts into its route's config as the route is registered (Fastify's
 * `onRoute` hook), where every hook and the error handler find them from the request.
 */
export function noteSignedRoute(route: { handler: unknown; config?: unknown }): void {
  const facts = typeof route.handler === "function" ? signedHandlers.get(route.handler) : undefined;
  if (facts !== undefined) route.config = { ...(route.config as object | undefined), [SIGNED_ROUTE]: facts };
  const choose = typeof route.handler === "function" ? dispatchers.get(route.handler) : undefined;
  if (choose !== undefined) route.config = { ...(route.config as object | undefined), [DISPATCH]: choose };
}

/** The facts of the signed route a request is for; undefined for unsigned routes and unknown paths. */
export function signedRouteOf(request: FastifyRequest): SignedRouteFacts | undefined {
  const config = request.routeOptions.config as unknown as Record<string, unknown> | undefined;
  const choose = config?.[DISPATCH] as Dispatch | undefined;
  if (choose !== undefined) return signedHandlers.get(choose(request));
  return config?.[SIGNED_ROUTE] as SignedRouteFacts | undefined;
}

/** Hands the route a refusal decided before its body was read: its handler records it instead of running. */
export function refuseBeforeBody(request: FastifyRequest, refusal: RefusalBeforeBody): void {
  refusals.set(request, refusal);
}

/** Throws the refusal decided before the body was read, if any, noting its caller in `attribution` first. */
export function throwRefusalBeforeBody(request: FastifyRequest, attribution: CallerAttribution): void {
  const refusal = refusals.get(request);
  if (refusal === undefined) return;
  Object.assign(attribution, refusal.attribution);
  throw refusal.error;
}
