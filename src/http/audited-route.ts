import { randomUUID } from "node:crypto";
import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from "fastify";
import { authenticate, toSignedRequest, type CallerAttribution } from "../auth/authenticate.js";
import { authorize, type Authorizer } from "../auth/authorizer.js";
import type { SignatureClaim } from "../auth/sigv4-verify.js";
import { auditRecordOf, type AuditDefaults } from "../capture/self-audit/audit-record.js";
import { JournalUnavailableError, type Journal, type JournalAppendItem } from "../journal/index.js";
import { ApiError, isApiError } from "../lib/api-error.js";
import { SELF_AUDIT_PROVENANCE } from "../model/provenance.js";
import type { Clock } from "../lib/clock.js";
import type { Principal, PrincipalStore } from "../stores/principals/index.js";
import { senderOf, type ErrorFormat } from "./send-error.js";
import { storeUnavailableAnswer } from "./store-unavailable.js";
import { markSignedRoute, throwRefusalBeforeBody } from "./signed-routes.js";

/** What every route is registered with. */
export interface RouteContext {
  readonly journal: Journal;
  readonly principals: PrincipalStore;
  /** IAM's decision for every authenticated call (src/auth/iam/). */
  readonly authorizer: Authorizer;
  readonly clock: Clock;
  readonly audit: AuditDefaults;
  readonly onInternalError: (error: unknown) => void;
  /** Aborted when the server shuts down, so long-lived answers (live tail) end. */
  readonly shutdown: AbortSignal;
}

/**
 * What a route has learned about a call, filled in as it goes: a call refused half-way is recorded
 * with everything known by then (the operation it asked for, the caller it claimed to be).
 */
export interface CallNote {
  eventName: string;
  readOnly: boolean;
  input: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  resources?: Array<{ accountId: string; type: string; ARN: string }>;
  /** Records made durable in one atomic group with the call's own record (ingested events). */
  items: JournalAppendItem[];
  /** The service the call's record names, when not CloudTrail (the IAM-shaped API: iam.amazonaws.com). */
  eventSource?: string;
  /**
   * Set by plumbing and data-plane routes once the call is authorised: what it touched. A call that
   * then succeeds is recorded as a data event naming these resources (not in Event history, not in
   * a management-events trail); a call that fails is recorded as a management event as before, so
   * refusals stay visible (docs/reference/ingest-rules.md, "Plumbing is not activity").
   */
  dataEvent?: Array<{ accountId: string; type: string; ARN: string }>;
}

export interface AuditedCall {
  readonly request: FastifyRequest;
  readonly body: Buffer;
  readonly requestId: string;
  readonly nowMs: number;
  readonly note: CallNote;
  /** Verifies the SigV4 signature for `service`; the claimed caller is noted first, so refusals name it. */
  authenticate(service?: string): Promise<{ principal: Principal; claim: SignatureClaim }>;
  /**
   * Rejects with AccessDeniedException unless the authenticated caller's policies allow `action` on
   * `resource` (IAM's evaluation: explicit deny, then allow, else implicit deny).
   */
  authorize(
    action: string,
    resource: string,
    conditionContext?: Record<string, string | readonly string[]>,
  ): Promise<void>;
}

export interface AuditedRoute<T> {
  /** The name a call is recorded under until the route knows better. */
  readonly eventName: (request: FastifyRequest) => string;
  /** Whether a call of that name only reads (the record's `readOnly`). */
  readonly readOnly: (eventName: string) => boolean;
  /**
   * Error bodies: AWS JSON 1.1 (`__type`), REST-JSON (`x-amzn-ErrorType` + `message`) for
   * cloudtrail-data, or IAM's Query-protocol XML (`<ErrorResponse>`).
   */
  readonly errorFormat?: ErrorFormat;
  /** The service the call's record names when not CloudTrail, refused or not (cloudtrail-data). */
  readonly eventSource?: string;
  /** Accepts a presigned URL (query-string SigV4) as well as the Authorization header (decision 0026). */
  readonly presigned?: boolean;
  /** What a caller is told when nothing could be made durable. */
  readonly unavailableMessage: string;
  handle(call: AuditedCall): Promise<T>;
  /** Sends the answer once the call's records are durable; `seqs` are the noted items' seqs (null: duplicate). */
  answer(reply: FastifyReply, result: T, seqs: ReadonlyArray<number | null>, call: AuditedCall): void | Promise<void>;
}

const INTERNAL_FAILURE = "The request processing has failed because of an unknown error.";

/**
 * The one way a route answers (fail closed): authenticate, run the operation, make the record of
 * the call (and any records it carries) durable, and only then answer. When the journal cannot
 * write, the caller gets 503 ServiceUnavailableException and nothing was done.
 */
export function audited<T>(context: RouteContext, route: AuditedRoute<T>): RouteHandlerMethod {
  const sendError = senderOf(route.errorFormat);
  const handler: RouteHandlerMethod = async (request, reply) => {
    const attribution: CallerAttribution = {};
    const call = newCall(context, request, attribution, route);
    let outcome: { result: T } | undefined;
    let failure: ApiError | undefined;
    try {
      // Refused from its headers (request-gate.ts): recorded like any call of its caller, never run.
      throwRefusalBeforeBody(request, attribution);
      outcome = { result: await route.handle(call) };
    } catch (error) {
      failure = asApiError(error, context.onInternalError);
    }
    let seqs: ReadonlyArray<number | null>;
    try {
      seqs = await appendRecords(context, route, call, attribution, failure);
    } catch (error) {
      if (!(error instanceof JournalUnavailableError)) context.onInternalError(error);
      sendError(reply, call.requestId, unavailable(route.unavailableMessage));
      return reply;
    }
    if (outcome === undefined) sendError(reply, call.requestId, failure!);
    else await route.answer(reply, outcome.result, seqs, call);
    return reply;
  };
  // The request gate checks every audited route's headers before its body is read (request-gate.ts).
  markSignedRoute(handler, {
    errorFormat: route.errorFormat ?? "json-1.1",
    eventName: route.eventName,
    readOnly: route.readOnly,
    eventSource: route.eventSource,
    presigned: route.presigned,
  });
  return handler;
}

function newCall<T>(
  context: RouteContext,
  request: FastifyRequest,
  attribution: CallerAttribution,
  route: AuditedRoute<T>,
): AuditedCall {
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const nowMs = context.clock.nowMs();
  const eventName = route.eventName(request);
  return {
    request,
    body,
    requestId: randomUUID(),
    nowMs,
    note: {
      eventName,
      readOnly: route.readOnly(eventName),
      input: null,
      responseElements: null,
      items: [],
      ...(route.eventSource !== undefined ? { eventSource: route.eventSource } : {}),
    },
    authenticate: (service = "cloudtrail") =>
      authenticate(toSignedRequest(request, body), context.principals, attribution, nowMs, service, {
        presigned: route.presigned === true,
      }),
    async authorize(action, resource, conditionContext) {
      const principal = attribution.principal;
      if (principal === undefined) throw new Error("authorize() before authenticate()");
      await authorize(context.authorizer, {
        principal,
        action,
        resource,
        nowMs,
        sourceIp: request.ip,
        secureTransport: request.protocol === "https",
        ...(attribution.claim !== undefined
          ? { context: { "aws:requestedregion": attribution.claim.region, ...conditionContext } }
          : {}),
      });
    },
  };
}

async function appendRecords<T>(
  context: RouteContext,
  route: AuditedRoute<T>,
  call: AuditedCall,
  attribution: CallerAttribution,
  failure: ApiError | undefined,
): Promise<ReadonlyArray<number | null>> {
  const items = failure === undefined ? call.note.items : [];
  // Every call is recorded, PutAuditEvents too (a data event of its channel, spec §7.5).
  const own = { json: ownRecordJson(context, call, attribution, failure), provenance: SELF_AUDIT_PROVENANCE };
  const { seqs } = await context.journal.append([...items, own]);
  return seqs.slice(0, items.length);
}

/**
 * The record of the call. Should building it fail on what the caller sent (a bug: inputs are checked
 * first), the fault is logged and the call is recorded without its parameters, so it is still on
 * record under its operation and caller, and the caller is not told the journal failed.
 */
function ownRecordJson(
  context: RouteContext,
  call: AuditedCall,
  attribution: CallerAttribution,
  failure: ApiError | undefined,
): string {
  const { dataEvent, ...note } = call.note;
  const asData = failure === undefined && dataEvent !== undefined;
  const exchange = {
    ...note,
    attribution,
    requestId: call.requestId,
    failure,
    ...(asData ? { managementEvent: false, resources: dataEvent } : {}),
  };
  try {
    return auditRecordOf(call.request, context.audit, exchange).json;
  } catch (error) {
    context.onInternalError(error);
    return auditRecordOf(call.request, context.audit, { ...exchange, input: null, responseElements: null }).json;
  }
}

function asApiError(error: unknown, onInternalError: (error: unknown) => void): ApiError {
  if (isApiError(error)) return error;
  // An operating condition (a database restarting), not a fault: the caller retries.
  const unavailableStore = storeUnavailableAnswer(error);
  if (unavailableStore) return unavailableStore;
  onInternalError(error);
  return new ApiError("InternalFailure", INTERNAL_FAILURE);
}

function unavailable(message: string): ApiError {
  return new ApiError("ServiceUnavailableException", message, { "retry-after": "1" });
}

/**
 * Records a request refused before its route ran (unreadable or oversized body), under the name
 * its route gives it (else `UnknownOperation`) and the caller its headers named; best effort,
 * because the refusal is answered either way.
 */
export async function recordRefusal(
  context: Pick<RouteContext, "journal" | "audit">,
  request: { ip: string; headers: { "user-agent"?: string | undefined } },
  error: ApiError,
  known: { attribution?: CallerAttribution; eventName?: string; readOnly?: boolean; eventSource?: string } = {},
): Promise<void> {
  const record = auditRecordOf(request, context.audit, {
    eventSource: known.eventSource,
    eventName: known.eventName ?? "UnknownOperation",
    attribution: known.attribution ?? {},
    requestId: randomUUID(),
    readOnly: known.readOnly ?? false,
    input: null,
    responseElements: null,
    failure: error,
  });
  await context.journal.append([{ json: record.json, provenance: SELF_AUDIT_PROVENANCE }]);
}
