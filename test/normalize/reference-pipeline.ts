/**
 * normalizeIngestedRecord as it was before the fast path (main at ddeb5a7, decision 0029): every
 * record copied, repaired and derived, reordered, serialised with its bytes counted, and the
 * redaction gate a case-insensitive regex over the whole JSON text. Kept only as the oracle of
 * test/normalize/fast-path-equivalence.test.ts; the step functions it calls are the ones the new
 * pipeline calls too, except those the fast path changed (the serialisation guards and the gate),
 * which are copied here as they were.
 */
import { randomUUID as cryptoRandomUUID } from "node:crypto";
import { recordAccountId, type CloudTrailRecord } from "../../src/model/record.js";
import { orderFields } from "../../src/normalize/field-order.js";
import type { NormalizeContext, NormalizeResult } from "../../src/normalize/pipeline.js";
import { describeJsonType, reject, type Rejection } from "../../src/normalize/reasons.js";
import { REDACTION_RULES, redactSecrets } from "../../src/normalize/redact.js";
import { REDACTION_EXCEPTIONS } from "../../src/normalize/redaction-exceptions.js";
import { applySizeLimits } from "../../src/normalize/size-limits.js";
import { checkKnownFieldTypes } from "../../src/normalize/steps/check-schema.js";
import { coerceFields } from "../../src/normalize/steps/coerce-fields.js";
import {
  deriveEventCategory,
  deriveEventType,
  deriveEventVersion,
  deriveManagementEvent,
  fillEventId,
  fillPayloadNulls,
  INSIGHT_EVENT_TYPE,
} from "../../src/normalize/steps/derive-fields.js";
import { readEventTime } from "../../src/normalize/steps/event-time.js";
import { checkIdentifierFields } from "../../src/normalize/steps/required-fields.js";
import { repairLoneSurrogates } from "../../src/normalize/steps/well-formed.js";

const REDACTED_FIELDS = [
  "requestParameters",
  "responseElements",
  "additionalEventData",
  "serviceEventDetails",
] as const;

export function referenceNormalize(raw: unknown, context: NormalizeContext): NormalizeResult {
  if (!isPlainObject(raw)) return reject("not_an_object", { got: describeJsonType(raw) });
  const draft: Record<string, unknown> = { ...raw };
  const repaired = repairAndDerive(draft, context);
  if (repaired !== undefined) return repaired;
  const isInsight = draft.eventType === INSIGHT_EVENT_TYPE;
  const ordered = orderFields(draft);
  const typeProblem = checkKnownFieldTypes(ordered, isInsight);
  if (typeProblem !== undefined) return typeProblem;
  return finish(ordered);
}

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

function finish(ordered: Record<string, unknown>): NormalizeResult {
  const serialized = serializeRecord(ordered);
  if (!serialized.ok) return serialized;
  const { record: repaired, json: repairedJson, repairs } = repairLoneSurrogates(ordered, serialized.json);
  const redacted = redactRecord(repaired, repairedJson);
  const limited = applySizeLimits(redacted, { serializedBytesAtMost: serialized.bytes });
  const json = limited === repaired ? repairedJson : JSON.stringify(limited);
  const record = limited as CloudTrailRecord;
  return { ok: true, record, json, dedupKey: dedupKeyOf(record), repairs };
}

function redactRecord(record: Record<string, unknown>, json: string): Record<string, unknown> {
  const context = { eventSource: String(record.eventSource ?? ""), eventName: String(record.eventName ?? "") };
  if (!mayContainSecrets(json, context)) return record;
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

const gates = new Map<string, RegExp>();

/** The old gate: the secret names and this event's exception leaf names, as `"name":` in the JSON, /i. */
function mayContainSecrets(json: string, context: { eventSource: string; eventName: string }): boolean {
  const here = REDACTION_EXCEPTIONS.filter(
    (exception) =>
      exception.eventSource === context.eventSource &&
      !("keep" in exception.action) &&
      (exception.eventNames === "*" || exception.eventNames.includes(context.eventName)),
  );
  const cacheKey = here.map((exception) => REDACTION_EXCEPTIONS.indexOf(exception)).join(",");
  const cached = gates.get(cacheKey);
  if (cached !== undefined) return cached.test(json);
  const leafNames = here.map((exception) => exception.path.split(".").at(-1) ?? "");
  const secretNames = REDACTION_RULES.flatMap((rule) => rule.members.map((member) => member.toLowerCase()));
  const names = [...new Set([...secretNames, ...leafNames.map((name) => name.toLowerCase())])];
  const escaped = names.map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const gate = new RegExp(`"(?:${escaped.join("|")})":`, "i");
  gates.set(cacheKey, gate);
  return gate.test(json);
}

function dedupKeyOf(record: CloudTrailRecord): string {
  return JSON.stringify([
    recordAccountId(record),
    record.eventID,
    record.eventTime,
    record.eventSource ?? "",
    record.eventName ?? "",
  ]);
}

const EVENT_BYTES_MAX = 256 * 1024;
const NESTING_DEPTH_MAX = 32;

function serializeRecord(
  record: Readonly<Record<string, unknown>>,
): { ok: true; json: string; bytes: number } | Rejection {
  if (nestingExceeds(record, NESTING_DEPTH_MAX)) return reject("nesting_too_deep", { limit: NESTING_DEPTH_MAX });
  let json: string;
  try {
    json = JSON.stringify(record);
  } catch (error) {
    return reject("not_json_serializable", {
      detail: error instanceof Error ? (error.message.split("\n")[0] ?? "") : "unknown",
    });
  }
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes > EVENT_BYTES_MAX) return reject("event_too_large", { size: bytes, limit: EVENT_BYTES_MAX });
  return { ok: true, json, bytes };
}

function nestingExceeds(value: object, max: number): boolean {
  if (max <= 0) return true;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) {
      if (typeof item === "object" && item !== null && nestingExceeds(item, max - 1)) return true;
    }
    return false;
  }
  for (const key in value) {
    const member: unknown = (value as Record<string, unknown>)[key];
    if (typeof member === "object" && member !== null && nestingExceeds(member, max - 1)) return true;
  }
  return false;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
