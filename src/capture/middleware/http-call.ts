/**
 * Framework-neutral half of the middleware: one finished HTTP exchange of a custom API → the
 * CloudTrail record, built with `buildApiCallRecord` like every other capture path (same field order,
 * redaction, size limits). The Express and Fastify adapters only gather an `HttpCall`.
 */
import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { UserIdentity } from "../../model/record.js";
import { buildApiCallRecord } from "../../normalize/build-record.js";
import { toLowerCamelKeys } from "../../normalize/lower-camel.js";
import { statusErrorCode } from "../../lib/http-status-error.js";

export interface HttpCall {
  readonly method: string;
  /** `/orders/:id` when a route matched. */
  readonly routeTemplate: string | undefined;
  /** The route's own name where the framework has one (Fastify `config.eventName`). */
  readonly routeName: string | undefined;
  /** The path without its query string, for calls no route matched. */
  readonly path: string;
  readonly params: unknown;
  readonly query: unknown;
  readonly body: unknown;
  readonly status: number;
  readonly responseContentType: string | undefined;
  /** Undefined when not captured (over the cap, or capture off). */
  readonly responseBody: Buffer | undefined;
  readonly requestID: string;
  readonly sourceIPAddress: string;
  readonly userAgent: string | undefined;
  readonly completedAtMs: number;
}

/** What the app's resolvers said about the request (undefined: use the default). */
export interface Resolved {
  readonly identity: UserIdentity | undefined;
  readonly eventName: string | undefined;
  readonly readOnly: boolean | undefined;
  readonly requestParameters: Record<string, unknown> | null | undefined;
}

export interface RecordSettings {
  readonly eventSource: string;
  readonly region: string;
  readonly accountId: string | undefined;
}

const READ_ONLY_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function defaultEventName(call: HttpCall): string {
  return call.routeName ?? `${call.method} ${call.routeTemplate ?? call.path}`;
}

/** Route params, then query, then a JSON object body; later sources win on equal names. */
function defaultRequestParameters(call: HttpCall): Record<string, unknown> | null {
  const merged: Record<string, unknown> = {};
  for (const source of [call.params, call.query, call.body]) {
    if (isPlainObject(source)) Object.assign(merged, toLowerCamelKeys(source));
  }
  return Object.keys(merged).length === 0 ? null : merged;
}

export function recordOfHttpCall(settings: RecordSettings, call: HttpCall, resolved: Resolved): string {
  const userIdentity = resolved.identity ?? { type: "Unknown" };
  const accountId = settings.accountId ?? userIdentity.accountId;
  const json = jsonBodyOf(call);
  const failed = call.status >= 400;
  const error = failed ? errorOf(call.status, json) : undefined;
  const { record } = buildApiCallRecord({
    eventSource: settings.eventSource,
    eventName: resolved.eventName ?? defaultEventName(call),
    awsRegion: settings.region,
    eventTimeMs: call.completedAtMs,
    userIdentity,
    sourceIPAddress: call.sourceIPAddress,
    ...(call.userAgent === undefined ? {} : { userAgent: call.userAgent }),
    requestParameters:
      resolved.requestParameters === undefined ? defaultRequestParameters(call) : resolved.requestParameters,
    responseElements: failed || !isPlainObject(json) ? null : (toLowerCamelKeys(json) as Record<string, unknown>),
    readOnly: resolved.readOnly ?? READ_ONLY_METHODS.has(call.method),
    managementEvent: true,
    ...(error === undefined ? {} : error),
    requestID: call.requestID,
    eventID: randomUUID(),
    recipientAccountId: accountId ?? "",
  });
  // No account known here: the server files the record under the account of the key that sends it.
  if (accountId === undefined) delete record.recipientAccountId;
  return JSON.stringify(record);
}

/** CloudTrail-style `errorCode` (`NotFound`, or the body's `code`) and the body's message. */
function errorOf(status: number, body: unknown): { errorCode: string; errorMessage?: string } {
  const fields = isPlainObject(body) ? body : {};
  const named = [fields["code"], fields["errorCode"], fields["__type"]].find(
    (value): value is string => typeof value === "string" && value !== "",
  );
  const errorCode = named?.slice(named.lastIndexOf("#") + 1) ?? statusErrorCode(status);
  const message = [fields["message"], fields["errorMessage"], fields["error"]].find(
    (value): value is string => typeof value === "string" && value !== "",
  );
  return { errorCode, errorMessage: message ?? STATUS_CODES[status] ?? `HTTP ${status}` };
}

function jsonBodyOf(call: HttpCall): unknown {
  if (call.responseBody === undefined || !/\bjson\b/i.test(call.responseContentType ?? "")) return undefined;
  try {
    return JSON.parse(call.responseBody.toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** `::ffff:127.0.0.1` → `127.0.0.1`, as CloudTrail writes IPv4 callers. */
export function plainAddress(address: string | undefined): string {
  return (address ?? "").replace(/^::ffff:/, "");
}
