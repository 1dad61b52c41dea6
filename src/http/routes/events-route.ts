import type { FastifyRequest, RouteHandlerMethod } from "fastify";
import {
  isEventsOperation,
  isReadOnlyEventsOperation,
  type EventsOperation,
} from "../../control-plane/events/index.js";
import type { OperationResult } from "../../control-plane/operation.js";
import { ApiError } from "../../lib/api-error.js";
import { audited, type AuditedCall, type RouteContext } from "../audited-route.js";
import { operationContextOf } from "../operation-context.js";
import { parseBody } from "./cloudtrail-route.js";

const TARGET_PREFIX = "AWSEvents.";
const EVENT_SOURCE = "events.amazonaws.com";

export interface EventsRouteOptions {
  readonly context: RouteContext;
  readonly operations: ReadonlyMap<string, EventsOperation>;
}

function targetHeader(request: FastifyRequest): string {
  const value = request.headers["x-amz-target"];
  return (Array.isArray(value) ? value[0] : value) ?? "";
}

/** Whether a `POST /` is an EventBridge call (`X-Amz-Target: AWSEvents.<Operation>`), as the SDKs send it. */
export function isEventsRequest(request: FastifyRequest): boolean {
  return targetHeader(request).startsWith(TARGET_PREFIX);
}

/** The name a call is recorded under: the requested operation when it is readable. */
function eventNameFor(request: FastifyRequest): string {
  const name = targetHeader(request).slice(TARGET_PREFIX.length);
  return /^[A-Za-z0-9]{1,128}$/.test(name) ? name : "UnknownOperation";
}

/**
 * The EventBridge API on Cairn's endpoint: `aws events … --endpoint-url` (AWS JSON 1.1, SigV4
 * service `events`), each call authorised as `events:<Operation>` and recorded with eventSource
 * `events.amazonaws.com`.
 */
export function eventsHandler(options: EventsRouteOptions): RouteHandlerMethod {
  return audited<OperationResult>(options.context, {
    eventName: eventNameFor,
    readOnly: isReadOnlyEventsOperation,
    eventSource: EVENT_SOURCE,
    unavailableMessage: "Cairn cannot durably record this call right now; nothing was done. Retry later.",
    handle: (call) => runEventsCall(options, call),
    answer(reply, result, _seqs, call) {
      void reply
        .code(200)
        .headers({ "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": call.requestId })
        .send(JSON.stringify(result.output));
    },
  });
}

async function runEventsCall(options: EventsRouteOptions, call: AuditedCall): Promise<OperationResult> {
  const { note } = call;
  const name = note.eventName;
  if (!isEventsOperation(name)) {
    throw new ApiError("UnknownOperationException", `Unknown operation ${targetHeader(call.request).slice(0, 200)}.`);
  }
  const { principal, claim } = await call.authenticate("events");
  note.input = parseBody(call.body, call.request.headers["content-type"]);
  const operation = options.operations.get(name);
  if (operation === undefined) {
    throw new ApiError("UnknownOperationException", `Cairn does not implement the EventBridge operation ${name} yet.`);
  }
  const scope = { accountId: principal.accountId, region: claim.region };
  for (const resource of operation.resources(note.input, scope)) await call.authorize(`events:${name}`, resource);
  const result = await operation.run(note.input, operationContextOf(call, principal, claim));
  note.responseElements = result.responseElements ?? null;
  return result;
}
