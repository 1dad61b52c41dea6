/**
 * Stage 2 for records sent to the ingest API: validate, repair what has one meaning, derive what
 * CloudTrail's rules determine, redact, apply size limits and serialise. Each rule is listed in
 * docs/reference/ingest-rules.md. Nothing here throws for bad input; every problem is a rejection
 * from the closed catalogue in reasons.ts.
 */
import { randomUUID as cryptoRandomUUID } from "node:crypto";
import { recordAccountId, type CloudTrailRecord } from "../model/record.js";
import { orderFields } from "./field-order.js";
import { describeJsonType, reject, type Rejection } from "./reasons.js";
import { mayNeedRedaction, redactSecrets } from "./redact.js";
import { applySizeLimits } from "./size-limits.js";
import { cloudTrailShape } from "./steps/cloudtrail-shape.js";
import { checkKnownFieldTypes } from "./steps/check-schema.js";
import { coerceFields } from "./steps/coerce-fields.js";
import {
  deriveEventCategory,
  deriveEventType,
  deriveEventVersion,
  deriveManagementEvent,
  fillEventId,
  fillPayloadNulls,
  INSIGHT_EVENT_TYPE,
} from "./steps/derive-fields.js";
import { readEventTime } from "./steps/event-time.js";
import { checkIdentifierFields } from "./steps/required-fields.js";
import { serializeRecord } from "./steps/serialize.js";
import { repairLoneSurrogates } from "./steps/well-formed.js";

export interface NormalizeContext {
  /** When Cairn received the record (epoch ms); bounds how far in the future eventTime may be. */
  receivedAtMs: number;
  /** UUID source for records without eventID; injectable so tests are deterministic. */
  randomUUID?: () => string;
}

interface NormalizedRecord {
  ok: true;
  /** The normalised record. Nested objects may be shared with the input, which must not be mutated. */
  record: CloudTrailRecord;
  /** Compact JSON of `record`, CloudTrail field order first, then unknown fields. */
  json: string;
  /** Identity for de-duplication: account, eventID, eventTime, eventSource, eventName. */
  dedupKey: string;
  /** Unpaired UTF-16 surrogates replaced by U+FFFD (rule 13); 0 for almost every record. */
  repairs: number;
}

export type NormalizeResult = NormalizedRecord | Rejection;

/** Fields whose members may hold secrets; the redaction table is applied to each. */
const REDACTED_FIELDS = [
  "requestParameters",
  "responseElements",
  "additionalEventData",
  "serviceEventDetails",
] as const;

/**
 * Normalises one ingested record. `raw` is expected to come from JSON.parse.
 *
 * @example normalizeIngestedRecord(JSON.parse(line), { receivedAtMs: clock.nowMs() })
 */
export function normalizeIngestedRecord(raw: unknown, context: NormalizeContext): NormalizeResult {
  if (!isPlainObject(raw)) return reject("not_an_object", { got: describeJsonType(raw) });
  let ordered: Record<string, unknown>;
  // A record already in CloudTrail's shape skips rules 2–11 (cloudTrailShape proves each a no-op),
  // and rule 16 too when its fields are in CloudTrail's order.
  const shape = cloudTrailShape(raw, context.receivedAtMs);
  if (shape === "in-order") ordered = { ...raw };
  else if (shape === "reorder") ordered = orderFields(raw);
  else {
    const draft: Record<string, unknown> = { ...raw };
    const repaired = repairAndDerive(draft, context);
    if (repaired !== undefined) return repaired;
    ordered = orderFields(draft);
  }
  const typeProblem = checkKnownFieldTypes(ordered, ordered.eventType === INSIGHT_EVENT_TYPE);
  if (typeProblem !== undefined) return typeProblem;
  return finish(ordered);
}

/** Coercions and derivations, in dependency order: eventVersion is judged on the sender's fields. */
function repairAndDerive(draft: Record<string, unknown>, context: NormalizeContext): Rejection | undefined {
  const coerceProblem = coerceFields(draft);
  if (coerceProblem !== undefined) return coerceProblem;
  const time = readEventTime(draft, context.receivedAtMs);
  if (!time.ok) return time;
  draft.eventTime = time.eventTime;
  deriveEventVersion(draft);
  deriveEventType(draft);
  const identifierProblem = checkIdentifierFields(draft, draft.eventType === INSIGHT_EVENT_TYPE);
  if (identifierProblem !== undefined) return identifierProblem;
  const categoryProblem = deriveEventCategory(draft);
  if (categoryProblem !== undefined) return categoryProblem;
  deriveManagementEvent(draft);
  fillPayloadNulls(draft);
  fillEventId(draft, context.randomUUID ?? cryptoRandomUUID);
  return undefined;
}

/**
 * Serialise, repair unpaired surrogates, then redact and cut oversized fields, re-serialising only
 * when something changed. The repair comes first so redaction and limits see the stored text.
 */
function finish(ordered: Record<string, unknown>): NormalizeResult {
  const serialized = serializeRecord(ordered);
  if (!serialized.ok) return serialized;
  const { record: repaired, json: repairedJson, repairs } = repairLoneSurrogates(ordered, serialized.json);
  const redacted = redactRecord(repaired);
  const limited = applySizeLimits(redacted, { serializedBytesAtMost: serialized.bytesAtMost });
  const json = limited === repaired ? repairedJson : JSON.stringify(limited);
  const record = limited as CloudTrailRecord;
  return { ok: true, record, json, dedupKey: dedupKeyOf(record), repairs };
}

function redactRecord(record: Record<string, unknown>): Record<string, unknown> {
  const context = { eventSource: String(record.eventSource ?? ""), eventName: String(record.eventName ?? "") };
  // A walk of the four members' names, not of the whole record: the only ones redaction can change.
  const members = REDACTED_FIELDS.map((field) => record[field]);
  if (!mayNeedRedaction(members, context)) return record;
  let copy: Record<string, unknown> | undefined;
  for (const field of REDACTED_FIELDS) {
    const value = record[field];
    const redacted = redactSecrets(value, { ...context, field });
    if (redacted !== value) {
      copy ??= { ...record };
      copy[field] = redacted;
    }
  }
  return copy ?? record;
}

/**
 * eventID alone is not unique in the wild (Panther fixtures reuse "1" across different events), so
 * the key also names the account, time, source and name. A JSON array keeps the parts unambiguous.
 */
export function dedupKeyOf(record: CloudTrailRecord): string {
  return JSON.stringify([
    recordAccountId(record),
    record.eventID,
    record.eventTime,
    record.eventSource ?? "",
    record.eventName ?? "",
  ]);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
