import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from "fastify";
import { cloudTrailResources } from "../../control-plane/authorization.js";
import { ApiError } from "../../lib/api-error.js";
import { isCloudTrailOperation, isReadOnlyOperation } from "../../control-plane/catalogue.js";
import type { OperationHandler, OperationResult } from "../../control-plane/operation.js";
import { jsonNestingExceeds } from "../../lib/json-depth.js";
import { isPlainObject } from "../../lib/plain-object.js";
import { assertJsonContentType } from "../json-content-type.js";
import { audited, type AuditedCall, type RouteContext } from "../audited-route.js";
import { operationContextOf } from "../operation-context.js";
import { markDispatchingRoute } from "../signed-routes.js";
import type { Throttle } from "../throttle.js";

const TARGET_PREFIXES = ["com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.", "CloudTrail_20131101."];

export interface CloudTrailRouteOptions {
  readonly context: RouteContext;
  readonly operations: ReadonlyMap<string, OperationHandler>;
  readonly throttles: ReadonlyMap<string, Throttle>;
}

/** The operation name in X-Amz-Target: both the botocore (long) and Smithy (short) forms are accepted (spec §5.1). */
function operationFromTarget(target: string | undefined): string {
  if (target === undefined || target === "") {
    throw new ApiError("UnknownOperationException", "Missing X-Amz-Target header.");
  }
  const prefix = TARGET_PREFIXES.find((p) => target.startsWith(p));
  const name = prefix === undefined ? "" : target.slice(prefix.length);
  if (!isCloudTrailOperation(name))
    throw new ApiError("UnknownOperationException", `Unknown operation ${target.slice(0, 200)}.`);
  return name;
}

/**
 * The deepest CloudTrail input (advanced event selectors) nests 5 levels (EventBridge inputs fewer); a deeper body is refused
 * before anything recurses over it (the audit record converts its keys).
 */
const INPUT_NESTING_MAX = 32;

export function parseBody(body: Buffer, contentType: string | undefined): Record<string, unknown> {
  assertJsonContentType(contentType, "application/x-amz-json-1.1");
  if (body.length === 0) return {};
  const text = body.toString("utf8");
  if (jsonNestingExceeds(text, INPUT_NESTING_MAX)) {
    throw new ApiError("SerializationException", `The request body nests deeper than ${INPUT_NESTING_MAX} levels.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiError("SerializationException", "The request body is not valid JSON.");
  }
  if (!isPlainObject(parsed)) throw new ApiError("SerializationException", "The request body must be a JSON object.");
  return parsed;
}

function targetHeader(request: FastifyRequest): string | undefined {
  const value = request.headers["x-amz-target"];
  return Array.isArray(value) ? value[0] : value;
}

/** The name a refused call is recorded under: the requested operation when it is readable. */
function eventNameFor(request: FastifyRequest): string {
  const target = targetHeader(request) ?? "";
  const name = target.slice(target.lastIndexOf(".") + 1);
  return /^[A-Za-z0-9]{1,128}$/.test(name) ? name : "UnknownOperation";
}

/** Another service on `POST /`: its signed handler, for the requests `accepts` picks from their headers. */
export interface ApiService {
  readonly handler: RouteHandlerMethod;
  readonly accepts: (request: FastifyRequest) => boolean;
}

/**
 * `POST /`: CloudTrail's JSON API, and the other services on the same endpoint (SNS by its SigV4
 * scope, the IAM-shaped API when the body is a form, EventBridge by its target prefix), the first
 * whose `accepts` takes the request, as one endpoint serves them all to `aws … --endpoint-url`.
 */
export function registerCloudTrailRoute(
  app: FastifyInstance,
  options: CloudTrailRouteOptions,
  ...others: readonly ApiService[]
): void {
  const cloudTrail = cloudTrailHandler(options);
  const choose = (request: FastifyRequest) => others.find((other) => other.accepts(request))?.handler ?? cloudTrail;
  const dispatch: RouteHandlerMethod = function (request, reply) {
    return choose(request).call(this, request, reply);
  };
  markDispatchingRoute(dispatch, choose);
  app.post("/", dispatch);
}

function cloudTrailHandler(options: CloudTrailRouteOptions): RouteHandlerMethod {
  return audited<OperationResult>(options.context, {
    eventName: eventNameFor,
    readOnly: isReadOnlyOperation,
    unavailableMessage: "Cairn cannot durably record this call right now; nothing was done. Retry later.",
    handle: (call) => runOperation(options, call),
    answer(reply, result, _seqs, call) {
      void reply
        .code(200)
        .headers({ "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": call.requestId })
        .send(JSON.stringify(result.output ?? {}));
    },
  });
}

/** Authenticates, parses and runs one operation, noting what the audit record needs as it learns it. */
async function runOperation(options: CloudTrailRouteOptions, call: AuditedCall): Promise<OperationResult> {
  const { note } = call;
  note.eventName = operationFromTarget(targetHeader(call.request));
  note.readOnly = isReadOnlyOperation(note.eventName);
  const { principal, claim } = await call.authenticate();
  note.input = parseBody(call.body, call.request.headers["content-type"]);
  const handler = options.operations.get(note.eventName);
  if (handler === undefined) {
    throw new ApiError("UnsupportedOperationException", `Cairn does not implement ${note.eventName} yet.`);
  }
  const scope = { accountId: principal.accountId, region: claim.region };
  for (const resource of cloudTrailResources(note.eventName, note.input, scope)) {
    await call.authorize(`cloudtrail:${note.eventName}`, resource);
  }
  options.throttles.get(note.eventName)?.take(`${principal.accountId}/${claim.region}`);
  const result = await handler(note.input, operationContextOf(call, principal, claim));
  note.responseElements = result.responseElements ?? null;
  // CloudTrail's records of its trail operations name no resource (every trail call in the samples:
  // invictus-sigma-aws CreateTrail…StopLogging, stratus, cribl, the user guide's UpdateTrail); those of
  // channels name theirs (the user guide's CreateServiceLinkedChannel). Event history still lists the
  // trail: it derives it from the call (docs/reference/lookup-events.md).
  const named = result.resources?.filter((resource) => resource.type !== "AWS::CloudTrail::Trail");
  if (named !== undefined && named.length > 0) note.resources = named;
  return result;
}
