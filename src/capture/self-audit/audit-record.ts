import { userIdentityOf } from "../../stores/principals/index.js";
import type { UserIdentity } from "../../model/record.js";
import { buildApiCallRecord } from "../../normalize/build-record.js";
import { toLowerCamelKeys } from "../../normalize/lower-camel.js";
import type { CallerAttribution } from "../../auth/authenticate.js";

/** Everything the self-audit needs to know about one call to Cairn's own API. */
interface AuditedCall {
  readonly eventSource: string;
  readonly eventName: string;
  readonly attribution: CallerAttribution;
  readonly defaultAccountId: string;
  readonly defaultRegion: string;
  readonly eventTimeMs: number;
  readonly sourceIPAddress: string;
  readonly userAgent: string | undefined;
  readonly requestId: string;
  readonly eventId: string;
  readonly readOnly: boolean;
  readonly managementEvent: boolean;
  /** The request body as the caller sent it (PascalCase); null when it had none or could not be parsed. */
  readonly input: Record<string, unknown> | null;
  readonly responseElements: Record<string, unknown> | null;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly resources?: Array<{ accountId: string; type: string; ARN: string }>;
}

/** CloudTrail writes an unknown caller as type Unknown, with the key it presented when there was one. */
function callerIdentity(attribution: CallerAttribution): UserIdentity {
  if (attribution.principal !== undefined) return userIdentityOf(attribution.principal);
  if (attribution.claim !== undefined) return { type: "Unknown", accessKeyId: attribution.claim.accessKeyId };
  return { type: "Unknown" };
}

/** Global services log every call in us-east-1, wherever it was signed for (spec §1.4.1, awsRegion). */
const GLOBAL_SERVICES = new Set(["iam.amazonaws.com"]);

/**
 * A refusal by policy is logged as `AccessDenied` whichever protocol answered it (JSON services say
 * AccessDeniedException on the wire), the code CloudTrail records for authorisation failures.
 */
function recordedErrorCode(code: string): string {
  return code === "AccessDeniedException" ? "AccessDenied" : code;
}

/** The widest instant a Date can hold (±8.64e15 ms); beyond it toISOString throws. */
const DATE_MS_MAX = 8.64e15;

/**
 * Request timestamps are logged as ISO-8601 text, as CloudTrail does for its own API's time members.
 * A number no date can hold (a refused `StartTime: 1e20`) is logged as sent: the record of a
 * refused call must still be written.
 */
function withReadableTimes(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...input };
  for (const member of ["StartTime", "EndTime"]) {
    const value = out[member];
    if (typeof value === "number" && Math.abs(value * 1000) <= DATE_MS_MAX) {
      out[member] = new Date(value * 1000).toISOString();
    }
  }
  return out;
}

function buildAuditRecord(call: AuditedCall): { json: string; accountId: string } {
  const accountId = call.attribution.principal?.accountId ?? call.defaultAccountId;
  const requestParameters =
    call.input === null || Object.keys(call.input).length === 0
      ? null
      : (toLowerCamelKeys(withReadableTimes(call.input)) as Record<string, unknown>);
  const { json } = buildApiCallRecord({
    eventSource: call.eventSource,
    eventName: call.eventName,
    awsRegion: GLOBAL_SERVICES.has(call.eventSource)
      ? "us-east-1"
      : (call.attribution.claim?.region ?? call.defaultRegion),
    eventTimeMs: call.eventTimeMs,
    userIdentity: callerIdentity(call.attribution),
    sourceIPAddress: call.sourceIPAddress,
    ...(call.userAgent !== undefined ? { userAgent: call.userAgent } : {}),
    requestParameters,
    responseElements: call.responseElements,
    readOnly: call.readOnly,
    managementEvent: call.managementEvent,
    ...(call.errorCode !== undefined ? { errorCode: call.errorCode } : {}),
    ...(call.errorMessage !== undefined ? { errorMessage: call.errorMessage } : {}),
    requestID: call.requestId,
    eventID: call.eventId,
    ...(call.resources !== undefined ? { resources: call.resources } : {}),
    recipientAccountId: accountId,
  });
  return { json, accountId };
}

/** The server-wide facts every audited call shares. */
export interface AuditDefaults {
  readonly accountId: string;
  readonly region: string;
  readonly nowMs: () => number;
  readonly newEventId: () => string;
}

/** What one HTTP exchange contributes; everything else comes from the request and the defaults. */
export interface AuditedExchange {
  readonly eventSource?: string | undefined;
  readonly eventName: string;
  readonly attribution: CallerAttribution;
  readonly requestId: string;
  readonly readOnly: boolean;
  /** False for Cairn's plumbing and data-plane calls that succeeded (a data event); true by default. */
  readonly managementEvent?: boolean | undefined;
  readonly input: Record<string, unknown> | null;
  readonly responseElements: Record<string, unknown> | null;
  readonly failure?: { code: string; message: string } | undefined;
  readonly resources?: Array<{ accountId: string; type: string; ARN: string }> | undefined;
}

interface CallerHeaders {
  "user-agent"?: string | undefined;
  "x-amz-user-agent"?: string | string[] | undefined;
}

/**
 * The user agent a call is recorded with. A browser does not let a page set User-Agent, so an AWS
 * SDK running in one sends its own in X-Amz-User-Agent: for a browser's call that names the program
 * (the console's reads are recognised by it); any other client's User-Agent is kept as it is.
 */
function callerUserAgent(headers: CallerHeaders): string | undefined {
  const agent = headers["user-agent"];
  const sdk = headers["x-amz-user-agent"];
  const browser = agent === undefined || agent.startsWith("Mozilla/");
  return typeof sdk === "string" && sdk !== "" && browser ? sdk : agent;
}

/** Builds the audit record of one HTTP call to Cairn, from the request (source IP, user agent) and its outcome. */
export function auditRecordOf(
  request: { ip: string; headers: CallerHeaders },
  defaults: AuditDefaults,
  exchange: AuditedExchange,
): { json: string; accountId: string } {
  return buildAuditRecord({
    eventSource: exchange.eventSource ?? "cloudtrail.amazonaws.com",
    eventName: exchange.eventName,
    attribution: exchange.attribution,
    defaultAccountId: defaults.accountId,
    defaultRegion: defaults.region,
    eventTimeMs: defaults.nowMs(),
    sourceIPAddress: request.ip,
    userAgent: callerUserAgent(request.headers),
    requestId: exchange.requestId,
    eventId: defaults.newEventId(),
    readOnly: exchange.readOnly,
    managementEvent: exchange.managementEvent ?? true,
    input: exchange.input,
    responseElements: exchange.failure === undefined && !exchange.readOnly ? exchange.responseElements : null,
    ...(exchange.failure !== undefined
      ? { errorCode: recordedErrorCode(exchange.failure.code), errorMessage: exchange.failure.message }
      : {}),
    ...(exchange.resources !== undefined ? { resources: exchange.resources } : {}),
  });
}
