/**
 * The `cloudtrail-data` service (spec §7.5): `POST /PutAuditEvents?channelArn=…[&externalId=…]`,
 * REST-JSON, SigV4 with signing name `cloudtrail-data`. Each accepted audit event becomes an
 * ActivityAuditLog record (the event as sent under `eventData`, plus eventID, eventTime, awsRegion,
 * recipientAccountId and `metadata{ingestionTime, channelARN}`) appended to the journal; the answer
 * is sent only once the journal has fsynced them, and the Lake consumer routes them to the channel's
 * destination stores (store-router.ts). Errors: rest-json (`x-amzn-ErrorType` + `{"message"}`).
 */
import { createHash, randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply } from "fastify";
import { toSignedRequest } from "../../auth/authenticate.js";
import { ApiError, isApiError } from "../../lib/api-error.js";
import { isPlainObject } from "../../lib/plain-object.js";
import { parseSignatureClaim, verifySignature } from "../../auth/sigv4-verify.js";
import { userIdentityOf, type PrincipalStore } from "../../stores/principals/index.js";
import { JournalUnavailableError, type Journal } from "../../journal/journal.js";
import type { Clock } from "../../lib/clock.js";
import { channelIdOf, type Channel } from "../../lake/catalog/channel.js";
import { policyAllows } from "../../auth/resource-policy.js";

export const AUDIT_EVENTS_MAX = 100;
export const AUDIT_EVENTS_BYTES_MAX = 1024 * 1024;
/** The HTTP body may carry 1 MB of eventData plus the JSON around it (escaping can double it). */
const BODY_BYTES_MAX = 3 * AUDIT_EVENTS_BYTES_MAX;
const ID = /^[-_A-Za-z0-9]{1,128}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const EVENT_TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z?$/;

/** The channels PutAuditEvents sends through, as the Lake keeps them. */
export interface ChannelRegistry {
  /** A channel by id (any account): the route checks ownership and policy itself. */
  channel(id: string): Promise<Channel | undefined>;
  /** Records the outcome of a call in the channel's IngestionStatus. */
  noteIngestion(channel: Channel, status: NonNullable<Channel["ingestion"]>): Promise<void>;
}

export interface PutAuditEventsDeps {
  readonly journal: Journal;
  readonly principals: PrincipalStore;
  readonly clock: Clock;
  readonly lake: ChannelRegistry;
  readonly onInternalError: (error: unknown) => void;
}

interface AuditEventFailure {
  readonly id: string;
  readonly errorCode: string;
  readonly errorMessage: string;
}

class EventProblem extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function sendRestJsonError(reply: FastifyReply, requestId: string, error: ApiError): void {
  void reply
    .code(error.status)
    .headers({
      "content-type": "application/json",
      "x-amzn-requestid": requestId,
      "x-amzn-errortype": error.code,
      ...error.headers,
    })
    .send(JSON.stringify({ message: error.message }));
}

/** The limits of spec §7.5 on eventData members (string length, or JSON size for objects). */
const STRING_LIMITS: ReadonlyArray<readonly [string, number, boolean]> = [
  ["version", 256, true],
  ["eventSource", 1024, true],
  ["eventName", 1024, true],
  ["eventTime", 64, true],
  ["UID", 1024, true],
  ["recipientAccountId", 12, true],
  ["userAgent", 1024, false],
  ["errorCode", 256, false],
  ["errorMessage", 256, false],
  ["sourceIPAddress", 64, false],
];
const OBJECT_LIMITS: ReadonlyArray<readonly [string, number]> = [
  ["requestParameters", 100 * 1024],
  ["responseElements", 100 * 1024],
  ["additionalEventData", 28 * 1024],
];

/** Checks one eventData document; returns it parsed, or throws EventProblem with the per-event code. */
export function checkEventData(eventData: string, ownerAccountId: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(eventData);
  } catch {
    throw new EventProblem("InvalidData", "eventData is not valid JSON.");
  }
  if (!isPlainObject(data)) throw new EventProblem("InvalidData", "eventData must be a JSON object.");
  const identity = data["userIdentity"];
  if (!isPlainObject(identity))
    throw new EventProblem("FieldNotFound", "userIdentity is required and must be an object.");
  for (const [field, max] of [
    ["type", 128],
    ["principalId", 1024],
  ] as const) {
    const value = identity[field];
    if (typeof value !== "string" || value === "")
      throw new EventProblem("FieldNotFound", `userIdentity.${field} is required.`);
    if (value.length > max) throw new EventProblem("FieldTooLong", `userIdentity.${field} exceeds ${max} characters.`);
  }
  if (identity["details"] !== undefined && !isPlainObject(identity["details"]))
    throw new EventProblem("InvalidData", "userIdentity.details must be a JSON object.");
  for (const [field, max, required] of STRING_LIMITS) {
    const value = data[field];
    if (value === undefined || value === null) {
      if (required) throw new EventProblem("FieldNotFound", `${field} is required.`);
      continue;
    }
    if (typeof value !== "string") throw new EventProblem("InvalidData", `${field} must be a string.`);
    if (value.length > max) throw new EventProblem("FieldTooLong", `${field} exceeds ${max} characters.`);
  }
  for (const [field, max] of OBJECT_LIMITS) {
    const value = data[field];
    if (value === undefined || value === null) continue;
    if (!isPlainObject(value)) throw new EventProblem("InvalidData", `${field} must be a JSON object.`);
    if (Buffer.byteLength(JSON.stringify(value)) > max)
      throw new EventProblem("FieldTooLong", `${field} exceeds ${max / 1024} kB.`);
  }
  const time = EVENT_TIME.exec(data["eventTime"] as string);
  if (!time || !Number.isFinite(Date.parse(`${time[1]}Z`)))
    throw new EventProblem("InvalidData", "eventTime must be UTC yyyy-MM-ddTHH:mm:ss (optionally ending in Z).");
  if (data["recipientAccountId"] !== ownerAccountId)
    throw new EventProblem("InvalidRecipient", "recipientAccountId must be the account that owns the channel.");
  return data;
}

/** eventDataChecksum: SHA-256 of eventData, as base64 (AWS's form) or hex (accepted too). */
function checksumMatches(eventData: string, checksum: string): boolean {
  const digest = createHash("sha256").update(eventData).digest();
  return checksum === digest.toString("base64") || checksum.toLowerCase() === digest.toString("hex");
}

interface ParsedRequest {
  readonly events: ReadonlyArray<{ id: string; eventData: string; eventDataChecksum?: string }>;
}

function parseRequestBody(body: Buffer): ParsedRequest {
  const schema = (why: string): ApiError => new ApiError("ChannelUnsupportedSchema", why);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new ApiError("SerializationException", "The request body is not valid JSON.");
  }
  const list = isPlainObject(parsed) ? parsed["auditEvents"] : undefined;
  if (!Array.isArray(list) || list.length < 1 || list.length > AUDIT_EVENTS_MAX)
    throw schema(`auditEvents must be a list of 1 to ${AUDIT_EVENTS_MAX} audit events.`);
  const ids = new Set<string>();
  let bytes = 0;
  const events = list.map((item: unknown, i) => {
    const id = isPlainObject(item) ? item["id"] : undefined;
    const eventData = isPlainObject(item) ? item["eventData"] : undefined;
    const checksum = isPlainObject(item) ? item["eventDataChecksum"] : undefined;
    if (typeof id !== "string" || !ID.test(id))
      throw schema(`auditEvents[${i}].id must be 1-128 characters of letters, digits, '-' or '_'.`);
    if (typeof eventData !== "string") throw schema(`auditEvents[${i}].eventData must be a string.`);
    if (checksum !== undefined && checksum !== null && typeof checksum !== "string")
      throw schema(`auditEvents[${i}].eventDataChecksum must be a string.`);
    if (ids.has(id)) throw new ApiError("DuplicatedAuditEventId", `Two audit events share the id ${id}.`);
    ids.add(id);
    bytes += Buffer.byteLength(eventData);
    return typeof checksum === "string" ? { id, eventData, eventDataChecksum: checksum } : { id, eventData };
  });
  if (bytes > AUDIT_EVENTS_BYTES_MAX)
    throw schema(`The audit events of one request may hold at most ${AUDIT_EVENTS_BYTES_MAX} bytes of eventData.`);
  return { events };
}

function queryValue(query: unknown, name: string): string | undefined {
  const value = isPlainObject(query) ? query[name] : undefined;
  const first = Array.isArray(value) ? (value[0] as unknown) : value;
  return typeof first === "string" ? first : undefined;
}

/** The ActivityAuditLog record CloudTrail stores for one accepted audit event (spec §7.5). */
export function activityRecord(options: {
  data: Record<string, unknown>;
  channel: Channel;
  region: string;
  eventId: string;
  nowMs: number;
}): Record<string, unknown> {
  const time = EVENT_TIME.exec(options.data["eventTime"] as string)!;
  return {
    eventVersion: "1.0",
    eventCategory: "ActivityAuditLog",
    eventType: "ActivityLog",
    eventID: options.eventId,
    eventTime: `${time[1]}Z`,
    awsRegion: options.region,
    recipientAccountId: options.channel.accountId,
    metadata: {
      ingestionTime: new Date(options.nowMs).toISOString().replace(/\.\d{3}Z$/, "Z"),
      channelARN: options.channel.arn,
    },
    eventData: options.data,
  };
}

/**
 * Registers `POST /PutAuditEvents`. Add to src/server.ts after the other routes:
 * `registerPutAuditEventsRoute(app, { ...common, lake, onInternalError });`
 */
export function registerPutAuditEventsRoute(app: FastifyInstance, deps: PutAuditEventsDeps): void {
  app.post("/PutAuditEvents", { bodyLimit: BODY_BYTES_MAX }, async (request, reply) => {
    const requestId = randomUUID();
    const nowMs = deps.clock.nowMs();
    try {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const signed = toSignedRequest(request, body);
      const claim = parseSignatureClaim(signed);
      const principal = deps.principals.findByAccessKeyId(claim.accessKeyId);
      if (principal === undefined)
        throw new ApiError("UnrecognizedClientException", "The security token included in the request is invalid.");
      await verifySignature(signed, claim, principal.secretAccessKey, { nowMs, service: "cloudtrail-data" });

      const channelArn = queryValue(request.query, "channelArn");
      const externalId = queryValue(request.query, "externalId");
      const channelId = channelArn === undefined ? undefined : channelIdOf(channelArn);
      if (channelId === undefined)
        throw new ApiError("InvalidChannelARN", `channelArn ${channelArn ?? "(missing)"} is not a channel ARN.`);
      if (externalId !== undefined && !EXTERNAL_ID.test(externalId))
        throw new ApiError("InvalidParameterException", "externalId must be 2-1224 characters of [\\w+=,.@:/-].");
      const channel = await deps.lake.channel(channelId);
      if (channel === undefined || channel.region !== claim.region)
        throw new ApiError("ChannelNotFound", `Channel ${channelArn} was not found in ${claim.region}.`);
      const caller = { accountId: principal.accountId, arn: userIdentityOf(principal).arn ?? "" };
      if (principal.accountId !== channel.accountId && !policyAllows(channel.policy, caller, externalId))
        throw new ApiError(
          "ChannelInsufficientPermission",
          `The caller is not allowed to put audit events into ${channel.arn} (no resource policy statement allows it).`,
        );

      const { events } = parseRequestBody(body);
      const failed: AuditEventFailure[] = [];
      const accepted: Array<{ id: string; eventID: string; json: string }> = [];
      for (const event of events) {
        try {
          if (event.eventDataChecksum !== undefined && !checksumMatches(event.eventData, event.eventDataChecksum))
            throw new EventProblem("InvalidChecksum", "eventDataChecksum is not the SHA-256 of eventData.");
          const data = checkEventData(event.eventData, channel.accountId);
          const eventId = randomUUID();
          const record = activityRecord({ data, channel, region: claim.region, eventId, nowMs });
          accepted.push({ id: event.id, eventID: eventId, json: JSON.stringify(record) });
        } catch (error) {
          if (!(error instanceof EventProblem)) throw error;
          failed.push({ id: event.id, errorCode: error.code, errorMessage: error.message });
        }
      }
      if (accepted.length > 0) {
        try {
          // Durable before the answer: the journal fsyncs, then every consumer (Lake included) gets them.
          await deps.journal.append(accepted.map((a) => ({ json: a.json })));
        } catch (error) {
          if (!(error instanceof JournalUnavailableError)) deps.onInternalError(error);
          throw new ApiError(
            "ServiceUnavailableException",
            "Cairn cannot durably record these events right now; nothing was stored. Retry later.",
            { "retry-after": "1" },
          );
        }
      }
      const last = accepted.at(-1);
      await deps.lake.noteIngestion(channel, {
        LatestIngestionAttemptTime: nowMs / 1000,
        LatestIngestionAttemptEventID: last?.eventID ?? "",
        ...(last !== undefined
          ? { LatestIngestionSuccessTime: nowMs / 1000, LatestIngestionSuccessEventID: last.eventID }
          : {}),
        ...(failed.length > 0 ? { LatestIngestionErrorCode: failed[0]!.errorCode } : {}),
      });
      void reply
        .code(200)
        .headers({ "content-type": "application/json", "x-amzn-requestid": requestId })
        .send(JSON.stringify({ successful: accepted.map(({ id, eventID }) => ({ id, eventID })), failed }));
    } catch (error) {
      if (isApiError(error)) sendRestJsonError(reply, requestId, error);
      else {
        deps.onInternalError(error);
        sendRestJsonError(
          reply,
          requestId,
          new ApiError("InternalFailure", "The request processing has failed because of an unknown error."),
        );
      }
    }
    return reply;
  });
}
