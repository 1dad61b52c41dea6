import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { PrincipalStore } from "../../stores/principals/index.js";
import type { Journal } from "../../journal/journal.js";
import { JournalUnavailableError } from "../../journal/journal.js";
import type { Clock } from "../../lib/clock.js";
import { auditRecordOf, type AuditDefaults } from "../../capture/self-audit/audit-record.js";
import { authenticate, toSignedRequest, type CallerAttribution } from "../../auth/authenticate.js";
import { ApiError, isApiError } from "../../lib/api-error.js";
import { isCloudTrailOperation, isReadOnlyOperation } from "../../control-plane/catalogue.js";
import type { OperationHandler, OperationResult } from "../../control-plane/operation.js";
import { isPlainObject } from "../../lib/plain-object.js";
import type { Throttle } from "../throttle.js";

const TARGET_PREFIXES = ["com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.", "CloudTrail_20131101."];
const ACCEPTED_CONTENT_TYPES = ["application/x-amz-json-1.1", "application/x-amz-json-1.0", "application/json"];

export interface CloudTrailRouteOptions {
  readonly journal: Journal;
  readonly principals: PrincipalStore;
  readonly operations: ReadonlyMap<string, OperationHandler>;
  readonly clock: Clock;
  readonly accountId: string;
  readonly region: string;
  readonly audit: AuditDefaults;
  readonly throttles: ReadonlyMap<string, Throttle>;
  readonly onInternalError: (error: unknown) => void;
}

/** The operation name in X-Amz-Target: both the botocore (long) and Smithy (short) forms are accepted (spec §5.1). */
export function operationFromTarget(target: string | undefined): string {
  if (target === undefined || target === "") {
    throw new ApiError("UnknownOperationException", "Missing X-Amz-Target header.");
  }
  const prefix = TARGET_PREFIXES.find((p) => target.startsWith(p));
  const name = prefix === undefined ? "" : target.slice(prefix.length);
  if (!isCloudTrailOperation(name))
    throw new ApiError("UnknownOperationException", `Unknown operation ${target.slice(0, 200)}.`);
  return name;
}

function parseBody(body: Buffer, contentType: string | undefined): Record<string, unknown> {
  const mediaType = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (mediaType !== "" && !ACCEPTED_CONTENT_TYPES.includes(mediaType)) {
    throw new ApiError(
      "SerializationException",
      `Unsupported Content-Type '${mediaType}'; send application/x-amz-json-1.1.`,
    );
  }
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
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

export function sendAwsError(reply: FastifyReply, requestId: string, error: ApiError): void {
  void reply
    .code(error.status)
    .headers({
      "content-type": "application/x-amz-json-1.1",
      "x-amzn-requestid": requestId,
      "x-amzn-errortype": error.code,
      ...error.headers,
    })
    .send(JSON.stringify({ __type: error.code, message: error.message }));
}

export function registerCloudTrailRoute(app: FastifyInstance, options: CloudTrailRouteOptions): void {
  app.post("/", async (request, reply) => {
    const requestId = randomUUID();
    const nowMs = options.clock.nowMs();
    const attribution: CallerAttribution = {};
    let input: Record<string, unknown> | null = null;
    let eventName = eventNameFor(request);
    let result: OperationResult | undefined;
    let failure: ApiError | undefined;
    try {
      eventName = operationFromTarget(targetHeader(request));
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const { principal, claim } = await authenticate(
        toSignedRequest(request, body),
        options.principals,
        attribution,
        nowMs,
      );
      input = parseBody(body, request.headers["content-type"]);
      const handler = options.operations.get(eventName);
      if (handler === undefined) {
        throw new ApiError("UnsupportedOperationException", `Cairn does not implement ${eventName} yet.`);
      }
      options.throttles.get(eventName)?.take(`${principal.accountId}/${claim.region}`);
      result = await handler(input, {
        principal,
        accountId: principal.accountId,
        region: claim.region,
        requestId,
        nowMs,
      });
    } catch (error) {
      if (isApiError(error)) failure = error;
      else {
        options.onInternalError(error);
        failure = new ApiError("InternalFailure", "The request processing has failed because of an unknown error.");
      }
    }
    const readOnly = isReadOnlyOperation(eventName);
    const audit = auditRecordOf(request, options.audit, {
      eventName,
      attribution,
      requestId,
      readOnly,
      input,
      responseElements: result?.responseElements ?? null,
      failure,
      resources: result?.resources,
    });
    try {
      // Fail closed: the caller gets an answer only once the record of its call is durable.
      await options.journal.append([{ json: audit.json }]);
    } catch (error) {
      if (!(error instanceof JournalUnavailableError)) options.onInternalError(error);
      sendAwsError(
        reply,
        requestId,
        new ApiError(
          "ServiceUnavailableException",
          "Cairn cannot durably record this call right now; nothing was done. Retry later.",
          { "retry-after": "1" },
        ),
      );
      return reply;
    }
    if (failure !== undefined) {
      sendAwsError(reply, requestId, failure);
      return reply;
    }
    void reply
      .code(200)
      .headers({ "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": requestId })
      .send(JSON.stringify(result?.output ?? {}));
    return reply;
  });
}
