/**
 * The fast path's test: a record CloudTrail itself delivered (every real archive, Cairn's own trail
 * files) needs none of the ingest rules' repairs, derivations or reordering. When this answers true,
 * the general path's coercions, derivations and reordering (rules 2–11 and 16 of
 * docs/reference/ingest-rules.md) are proven no-ops, so a shallow copy of the record is what they
 * would have produced; the type check, serialisation guards, surrogate repair, redaction and size
 * limits (rules 12–15) still run on it, the same code for both paths. Anything unusual answers false
 * and the record takes the general path, which also gives every rejection.
 */
import { CLOUDTRAIL_FIELD_ORDER } from "../field-order.js";
import { derivedManagementEvent, INSIGHT_EVENT_TYPE } from "./derive-fields.js";
import { isCanonicalEventTime } from "./event-time.js";
import { checkIdentifierFields } from "./required-fields.js";

const ORDER_INDEX: ReadonlyMap<string, number> = new Map(CLOUDTRAIL_FIELD_ORDER.map((field, index) => [field, index]));

/**
 * True when normalising `raw` would change none of its top-level members nor their order. Per rule:
 * - 16 (order), 2 (null optionals): keysInCloudTrailShape.
 * - 3 (string booleans): readOnly and managementEvent are booleans or absent; sessionCredentialFromConsole
 *   is not a boolean.
 * - 4 (eventTime): present, already canonical, a real instant, not in the future (no fallback field used).
 * - 5, 6, 8, 11 (eventVersion, eventType, eventCategory, eventID): present, so nothing is derived.
 * - 9 (managementEvent): present, or a record CloudTrail writes none for.
 * - 10 (requestParameters/responseElements): present on every type but Insights.
 * - 7 (identifiers, and rule 5's `major.minor`): the same checkIdentifierFields finds nothing.
 */
export function isCloudTrailShaped(raw: Readonly<Record<string, unknown>>, receivedAtMs: number): boolean {
  if (!keysInCloudTrailShape(raw)) return false;
  if (!isBooleanOrAbsent(raw.readOnly) || !isBooleanOrAbsent(raw.managementEvent)) return false;
  if (typeof raw.sessionCredentialFromConsole === "boolean") return false;
  if (typeof raw.eventTime !== "string" || !isCanonicalEventTime(raw.eventTime, receivedAtMs)) return false;
  const { eventVersion, eventType, eventCategory, eventID } = raw;
  if (eventVersion === undefined || eventType === undefined || eventCategory === undefined || eventID === undefined)
    return false;
  const isInsight = eventType === INSIGHT_EVENT_TYPE;
  if (!isInsight && (raw.requestParameters === undefined || raw.responseElements === undefined)) return false;
  if (raw.managementEvent === undefined && derivedManagementEvent(raw) !== undefined) return false;
  return checkIdentifierFields(raw, isInsight) === undefined;
}

/**
 * Known fields in CloudTrail's order, all before the first unknown one (what orderFields would
 * write), no member `undefined` (orderFields drops those; JSON.parse never makes one) and no known
 * field `null` but requestParameters and responseElements (rule 2 drops the optional ones; for
 * eventTime or an identifier null is a rejection or a fallback, left to the general path).
 */
function keysInCloudTrailShape(raw: Readonly<Record<string, unknown>>): boolean {
  let last = -1;
  let unknownSeen = false;
  for (const key of Object.keys(raw)) {
    const value = raw[key];
    if (value === undefined) return false;
    const index = ORDER_INDEX.get(key);
    if (index === undefined) {
      unknownSeen = true;
      continue;
    }
    if (unknownSeen || index <= last) return false;
    last = index;
    if (value === null && key !== "requestParameters" && key !== "responseElements") return false;
  }
  return true;
}

function isBooleanOrAbsent(value: unknown): boolean {
  return value === undefined || typeof value === "boolean";
}
