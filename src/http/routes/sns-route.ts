import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from "fastify";
import type { SnsOperation, SnsResult, SnsXml } from "../../control-plane/sns/index.js";
import { XmlEntries } from "../../control-plane/sns/index.js";
import { ApiError, isApiError } from "../../lib/api-error.js";
import { escapeXml } from "../../lib/xml-text.js";
import { audited, type AuditedCall, type RouteContext } from "../audited-route.js";
import { SNS_NAMESPACE } from "../send-error.js";
import { sendQueryResult } from "../query-protocol-xml.js";

const SNS_VERSION = "2010-03-31";
/** Members the form carries for the protocol, not as the call's parameters. */
const PROTOCOL_MEMBERS = new Set(["Action", "Version"]);
const CREDENTIAL_SERVICE = /Credential=[^/,\s]+\/\d{8}\/[^/,\s]+\/([^/,\s]+)\/aws4_request/;

export interface SnsRouteOptions {
  readonly context: RouteContext;
  readonly operations: ReadonlyMap<string, SnsOperation>;
}

/**
 * The service a request is signed for, from its SigV4 credential scope (Authorization header or a
 * presigned `X-Amz-Credential`): how `POST /` tells SNS from IAM, which share the Query protocol.
 */
function signedServiceOf(request: FastifyRequest): string | undefined {
  const header = request.headers["authorization"];
  const fromHeader = CREDENTIAL_SERVICE.exec(Array.isArray(header) ? (header[0] ?? "") : (header ?? ""))?.[1];
  if (fromHeader !== undefined) return fromHeader;
  const query = request.query as Record<string, unknown> | undefined;
  const credential = query?.["X-Amz-Credential"];
  return typeof credential === "string" ? credential.split("/")[3] : undefined;
}

/** Whether a `POST /` is for SNS: signed with the service scope `sns`. */
export function isSnsRequest(request: FastifyRequest): boolean {
  return signedServiceOf(request) === "sns";
}

function formOf(body: Buffer): Record<string, string> {
  const form: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(body.toString("utf8"))) form[key] = value;
  return form;
}

function actionOf(request: FastifyRequest): string {
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const action = new URLSearchParams(body.toString("utf8")).get("Action") ?? "";
  return /^[A-Za-z]{1,64}$/.test(action) ? action : "UnknownOperation";
}

/** SNS on Cairn's endpoint: `aws sns … --endpoint-url` (Query protocol, SigV4 service `sns`, docs/reference/sns.md). */
export function snsHandler(options: SnsRouteOptions): RouteHandlerMethod {
  return audited<SnsResult>(options.context, {
    eventName: actionOf,
    readOnly: (name) => options.operations.get(name)?.readOnly ?? false,
    errorFormat: "sns-xml",
    eventSource: "sns.amazonaws.com",
    unavailableMessage: "Cairn cannot durably record this call right now; nothing was done. Retry later.",
    handle: (call) => runSnsCall(options, call),
    answer(reply, result, _seqs, call) {
      sendSnsResult(reply, call, result);
      // Only once the call is on record: an endpoint never hears of a subscription that was not.
      if (result.afterAnswer !== undefined) void result.afterAnswer().catch(options.context.onInternalError);
    },
  });
}

async function runSnsCall(options: SnsRouteOptions, call: AuditedCall): Promise<SnsResult> {
  const form = formOf(call.body);
  const { principal, claim } = await call.authenticate("sns");
  const input = Object.fromEntries(Object.entries(form).filter(([name]) => !PROTOCOL_MEMBERS.has(name)));
  const operation = options.operations.get(form["Action"] ?? "");
  if (operation === undefined || (form["Version"] !== undefined && form["Version"] !== SNS_VERSION)) {
    throw new ApiError(
      "InvalidAction",
      `Could not find operation ${(form["Action"] ?? "").slice(0, 64)} for version ${(form["Version"] ?? "").slice(0, 16)}`,
    );
  }
  call.note.input = withoutUndefined(operation.requestParameters(input));
  const snsCall = {
    input,
    principal,
    accountId: principal.accountId,
    region: claim.region,
    nowMs: call.nowMs,
    endpointUrl: endpointUrlOf(call.request),
  };
  const resource = operation.resource(snsCall);
  await asSnsDenial(call.authorize(`sns:${form["Action"]}`, resource));
  if (resource.startsWith("arn:aws:sns:")) {
    const resources = [{ accountId: resource.split(":")[4]!, type: "AWS::SNS::Topic", ARN: resource }];
    call.note.resources = resources;
    if (operation.dataEvent === true) call.note.dataEvent = resources;
  }
  const result = await operation.run(snsCall);
  call.note.responseElements = result.responseElements;
  return result;
}

/** Cairn's endpoint as this caller reached it: what a SubscribeURL names. */
function endpointUrlOf(request: FastifyRequest): string {
  const host = /^[A-Za-z0-9.:[\]-]{1,300}$/.test(request.headers.host ?? "") ? request.headers.host! : "localhost";
  return `${request.protocol}://${host}/`;
}

function withoutUndefined(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
}

/** SNS answers a refusal as `AuthorizationError` in its XML; the message is the same. */
async function asSnsDenial(authorized: Promise<void>): Promise<void> {
  try {
    await authorized;
  } catch (error) {
    if (isApiError(error) && error.code === "AccessDeniedException") {
      throw new ApiError("AuthorizationError", error.message);
    }
    throw error;
  }
}

function sendSnsResult(reply: FastifyReply, call: AuditedCall, result: SnsResult): void {
  sendQueryResult<SnsXml>(reply, call, SNS_NAMESPACE, result.result, (value) =>
    value instanceof XmlEntries
      ? value.entries
          .map(([key, text]) => `<entry><key>${escapeXml(key)}</key><value>${escapeXml(text)}</value></entry>`)
          .join("")
      : undefined,
  );
}
