import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from "fastify";
import type { IamOperation, IamResult, XmlValue } from "../../control-plane/iam/index.js";
import { ApiError, isApiError } from "../../lib/api-error.js";
import { BOOTSTRAP_ADMIN_NAME, type Principal } from "../../stores/principals/index.js";
import { audited, type AuditedCall, type RouteContext } from "../audited-route.js";
import { IAM_NAMESPACE } from "../send-error.js";
import { sendQueryResult } from "../query-protocol-xml.js";

const IAM_VERSION = "2010-05-08";
/** Members the form carries for the protocol, not as the call's parameters. */
const PROTOCOL_MEMBERS = new Set(["Action", "Version"]);

export interface IamRouteOptions {
  readonly context: RouteContext;
  readonly operations: ReadonlyMap<string, IamOperation>;
  /** The server's default account: its bootstrap admin may act in another account with `AccountId`. */
  readonly operatorAccountId: string;
}

/** Whether a `POST /` is an IAM Query-protocol call (a form) rather than a CloudTrail JSON call. */
export function isIamQueryRequest(request: FastifyRequest): boolean {
  const type = String(request.headers["content-type"] ?? "")
    .split(";")[0]!
    .trim()
    .toLowerCase();
  return type === "application/x-www-form-urlencoded";
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

/** The IAM-shaped API on Cairn's endpoint: `aws iam … --endpoint-url` (Query protocol, SigV4 service `iam`). */
export function iamHandler(options: IamRouteOptions): RouteHandlerMethod {
  return audited<IamResult>(options.context, {
    eventName: actionOf,
    readOnly: (name) => options.operations.get(name)?.readOnly ?? false,
    errorFormat: "iam-xml",
    unavailableMessage: "Cairn cannot durably record this call right now; nothing was done. Retry later.",
    handle: (call) => runIamCall(options, call),
    answer(reply, result, _seqs, call) {
      sendIamResult(reply, call, result);
    },
  });
}

async function runIamCall(options: IamRouteOptions, call: AuditedCall): Promise<IamResult> {
  call.note.eventSource = "iam.amazonaws.com";
  const form = formOf(call.body);
  const { principal } = await call.authenticate("iam");
  const input = Object.fromEntries(Object.entries(form).filter(([name]) => !PROTOCOL_MEMBERS.has(name)));
  call.note.input = input;
  const operation = options.operations.get(form["Action"] ?? "");
  if (operation === undefined || (form["Version"] !== undefined && form["Version"] !== IAM_VERSION)) {
    throw new ApiError(
      "ValidationError",
      `Could not find operation ${form["Action"] ?? ""} for version ${form["Version"] ?? ""}`,
    );
  }
  const iamCall = {
    input,
    principal,
    accountId: targetAccount(options, principal, input["AccountId"]),
    nowMs: call.nowMs,
  };
  await asIamDenial(call.authorize(`iam:${form["Action"]}`, operation.resource(iamCall)));
  const result = await operation.run(iamCall);
  call.note.responseElements = result.responseElements;
  return result;
}

/** `AccountId` is Cairn's operator extension: only the bootstrap admin may manage another account's users. */
function targetAccount(options: IamRouteOptions, principal: Principal, requested: string | undefined): string {
  if (requested === undefined || requested === principal.accountId) return principal.accountId;
  const operator =
    principal.type === "Root" &&
    principal.name === BOOTSTRAP_ADMIN_NAME &&
    principal.accountId === options.operatorAccountId;
  if (!operator || !/^\d{12}$/.test(requested)) {
    throw new ApiError(
      "InvalidInput",
      "AccountId is a Cairn operator parameter: only the bootstrap admin may name another 12-digit account.",
    );
  }
  return requested;
}

/** IAM answers a refusal as `AccessDenied` in its XML; the message is the same. */
async function asIamDenial(authorized: Promise<void>): Promise<void> {
  try {
    await authorized;
  } catch (error) {
    if (isApiError(error) && error.code === "AccessDeniedException") throw new ApiError("AccessDenied", error.message);
    throw error;
  }
}

function sendIamResult(reply: FastifyReply, call: AuditedCall, result: IamResult): void {
  sendQueryResult<XmlValue>(reply, call, IAM_NAMESPACE, result.result);
}
