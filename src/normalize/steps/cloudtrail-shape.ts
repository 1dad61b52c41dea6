/**
 * The fast path's test: a record CloudTrail itself delivered (every real archive, Cairn's own trail
 * files) needs none of the ingest rules' repairs or derivations, and usually no reordering. When this
 * answers, the general path's coercions and derivations (rules 2–11 of
 * docs/reference/ingest-rules.md) are proven no-ops, so a shallow copy of the record, or orderFields
 * of it (rule 16), is what they would have produced; the type check, serialisation guards, surrogate
 * repair, redaction and size limits (rules 12–15) still run on it, the same code for both paths.
 * Anything unusual answers undefined and the record takes the general path, which also gives every
 * rejection.
 */
import { CLOUDTRAIL_FIELD_ORDER } from "../field-order.js";
import { derivedManagementEvent, INSIGHT_EVENT_TYPE } from "./derive-fields.js";
import { isCanonicalEventTime } from "./event-time.js";
import { checkIdentifierFields } from "./required-fields.js";

const ORDER_INDEX: ReadonlyMap<string, number> = new Map(CLOUDTRAIL_FIELD_ORDER.map((field, index) => [field, index]));

/**
 * What the fast path may do with `raw`: `in-order` when normalising it would change none of its
 * top-level members nor their order (a shallow copy is the general path's result before the checks),
 * `reorder` when only the order would change (orderFields of it is), undefined otherwise. Per rule:
 * - 16 (order), 2 (null optionals): keysShape.
 * - 3 (string booleans): readOnly and managementEvent are booleans or absent; sessionCredentialFromConsole
 *   is not a boolean.
 * - 4 (eventTime): present, already canonical, a real instant, not in the future (no fallback field used).
 * - 5, 6, 8, 11 (eventVersion, eventType, eventCategory, eventID): present, so nothing is derived.
 * - 9 (managementEvent): present, or a record CloudTrail writes none for.
 * - 10 (requestParameters/responseElements): present on every type but Insights.
 * - 7 (identifiers, and rule 5's `major.minor`): the same checkIdentifierFields finds nothing.
 */
export function cloudTrailShape(
  raw: Readonly<Record<string, unknown>>,
  receivedAtMs: number,
): "in-order" | "reorder" | undefined {
  const keys = keysShape(raw);
  if (keys === undefined) return undefined;
  if (!isBooleanOrAbsent(raw.readOnly) || !isBooleanOrAbsent(raw.managementEvent)) return undefined;
  if (typeof raw.sessionCredentialFromConsole === "boolean") return undefined;
  if (typeof raw.eventTime !== "string" || !isCanonicalEventTime(raw.eventTime, receivedAtMs)) return undefined;
  const { eventVersion, eventType, eventCategory, eventID } = raw;
  if (eventVersion === undefined || eventType === undefined || eventCategory === undefined || eventID === undefined)
    return undefined;
  const isInsight = eventType === INSIGHT_EVENT_TYPE;
  if (!isInsight && (raw.requestParameters === undefined || raw.responseElements === undefined)) return undefined;
  if (raw.managementEvent === undefined && derivedManagementEvent(raw) !== undefined) return undefined;
  return checkIdentifierFields(raw, isInsight) === undefined ? keys : undefined;
}

/**
 * No member `undefined` (orderFields drops those; JSON.parse never makes one) and no known field
 * `null` but requestParameters and responseElements (rule 2 drops the optional ones; for eventTime or
 * an identifier null is a rejection or a fallback, left to the general path); then `in-order` when
 * the known fields are in CloudTrail's order, all before the first unknown one (what orderFields
 * would write), else `reorder`.
 */
function keysShape(raw: Readonly<Record<string, unknown>>): "in-order" | "reorder" | undefined {
  let last = -1;
  let unknownSeen = false;
  let inOrder = true;
  for (const key of Object.keys(raw)) {
    const value = raw[key];
    if (value === undefined) return undefined;
    const index = ORDER_INDEX.get(key);
    if (index === undefined) {
      unknownSeen = true;
      continue;
    }
    if (value === null && key !== "requestParameters" && key !== "responseElements") return undefined;
    if (unknownSeen || index <= last) inOrder = false;
    last = index;
  }
  return inOrder ? "in-order" : "reorder";
}

function isBooleanOrAbsent(value: unknown): boolean {
  return value === undefined || typeof value === "boolean";
}
