/**
 * PutAuditEvents as a source (spec §7.5): checks a batch of audit events against the limits and
 * turns each accepted one into the ActivityAuditLog record CloudTrail stores for it.
 */
import { createHash } from "node:crypto";
import { ApiError } from "../../lib/api-error.js";
import { isPlainObject } from "../../lib/plain-object.js";
import type { JournalAppendItem } from "../../journal/index.js";
import type { IngestProvenance } from "../../model/provenance.js";
import { buildActivityRecord } from "../../normalize/build-activity-record.js";

const AUDIT_EVENTS_MAX = 100;
const AUDIT_EVENTS_BYTES_MAX = 1024 * 1024;
/** The HTTP body may carry 1 MB of eventData plus the JSON around it (escaping can double it). */
export const BODY_BYTES_MAX = 3 * AUDIT_EVENTS_BYTES_MAX;
const ID = /^[-_A-Za-z0-9]{1,128}$/;
export const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const EVENT_TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z?$/;

export interface AuditEventFailure {
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
function checkEventData(eventData: string, ownerAccountId: string): Record<string, unknown> {
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
  // The UID is what tells a retry from a new event (auditEventDedupKey): an empty one would fold them all into one.
  if (data["UID"] === "") throw new EventProblem("FieldNotFound", "UID is required and must not be empty.");
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

export function parseRequestBody(body: Buffer): ParsedRequest {
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

/** Where the accepted events go, and when they arrived. */
export interface AuditEventTarget {
  /** The channel's owner: every event must name it as recipientAccountId. */
  readonly accountId: string;
  readonly channelArn: string;
  readonly region: string;
  readonly nowMs: number;
  /** Who sent the events through the channel: kept next to each record, never written into it. */
  readonly provenance: IngestProvenance;
  /**
   * The caller's account, part of each event's dedup key: an account a channel's policy lets in
   * cannot make Cairn drop another account's events by sending their UIDs first.
   */
  readonly callerAccountId: string;
}

export interface AdmittedBatch {
  /** The ActivityAuditLog records to journal, in the order of `accepted`. */
  readonly items: JournalAppendItem[];
  readonly accepted: Array<{ id: string; eventID: string }>;
  readonly failed: AuditEventFailure[];
}

/**
 * The journal's dedup key of an audit event: the source's `UID` (spec §7.5: "unique request id from
 * the source") within one channel and one calling account, so a call re-sent after a lost answer
 * stores each event once. The keys of /ingest, the proxy and imports (`dedupKeyOf`) are JSON arrays,
 * so they begin with "["; this prefix keeps the two key spaces apart.
 */
export function auditEventDedupKey(channelArn: string, callerAccountId: string, uid: string): string {
  return `cloudtrail-data:PutAuditEvents:${JSON.stringify([channelArn, callerAccountId, uid])}`;
}

/**
 * The eventID of the event with this dedup key, the same on every retry, so a re-sent call gets the
 * answer of the first one. An RFC 9562 version 8 ("custom") UUID: the first 16 bytes of SHA-256 of
 * the key with the version and variant bits set. Shaped like CloudTrail's ids without claiming, as a
 * version 4 would, to be random.
 */
export function auditEventId(dedupKey: string): string {
  const bytes = createHash("sha256").update(dedupKey).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
}

/** Checks each audit event and builds its ActivityAuditLog record (through normalize); a bad event fails alone. */
export function admitAuditEvents(events: ParsedRequest["events"], target: AuditEventTarget): AdmittedBatch {
  const batch: AdmittedBatch = { items: [], accepted: [], failed: [] };
  for (const event of events) {
    try {
      const { json, dedupKey, eventID } = activityRecord(event, target);
      batch.items.push({ json, dedupKey, provenance: target.provenance });
      batch.accepted.push({ id: event.id, eventID });
    } catch (error) {
      if (!(error instanceof EventProblem)) throw error;
      batch.failed.push({ id: event.id, errorCode: error.code, errorMessage: error.message });
    }
  }
  return batch;
}

function activityRecord(
  event: ParsedRequest["events"][number],
  target: AuditEventTarget,
): { json: string; dedupKey: string; eventID: string } {
  if (event.eventDataChecksum !== undefined && !checksumMatches(event.eventData, event.eventDataChecksum))
    throw new EventProblem("InvalidChecksum", "eventDataChecksum is not the SHA-256 of eventData.");
  const data = checkEventData(event.eventData, target.accountId);
  const dedupKey = auditEventDedupKey(target.channelArn, target.callerAccountId, data["UID"] as string);
  const eventID = auditEventId(dedupKey);
  const built = buildActivityRecord({
    data,
    eventTimeSeconds: EVENT_TIME.exec(data["eventTime"] as string)![1]!,
    eventId: eventID,
    awsRegion: target.region,
    recipientAccountId: target.accountId,
    channelArn: target.channelArn,
    ingestedAtMs: target.nowMs,
  });
  if (!built.ok) throw new EventProblem("InvalidData", built.message);
  return { json: built.json, dedupKey, eventID };
}
