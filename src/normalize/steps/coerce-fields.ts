/**
 * Type repairs with one unambiguous meaning. Exports re-typed by log shippers carry booleans as
 * strings (Cribl: `readOnly: "true"`, Panther: `"True"`) and Panther writes
 * `sessionCredentialFromConsole` as a boolean although CloudTrail writes the string `"true"`.
 * Anything that needs guessing is left for the schema check to reject.
 */
import { describeJsonType, reject, type Rejection } from "../reasons.js";

/** Known optional fields for which `null` means "absent": CloudTrail omits them instead. */
const OPTIONAL_FIELDS_DROPPED_WHEN_NULL = [
  "userIdentity",
  "sourceIPAddress",
  "userAgent",
  "errorCode",
  "errorMessage",
  "additionalEventData",
  "requestID",
  "readOnly",
  "resources",
  "apiVersion",
  "managementEvent",
  "recipientAccountId",
  "serviceEventDetails",
  "sharedEventID",
  "vpcEndpointId",
  "vpcEndpointAccountId",
  "insightDetails",
  "addendum",
  "tlsDetails",
  "sessionCredentialFromConsole",
  "edgeDeviceDetails",
  "eventContext",
  "annotation",
] as const;

/** Booleans CloudTrail writes as JSON booleans. */
const BOOLEAN_FIELDS = ["readOnly", "managementEvent"] as const;

/**
 * Drops `null` optional fields and coerces `"true"`/`"false"` (any case) on boolean fields. Mutates
 * `draft`, which the pipeline owns (a shallow copy of the caller's object).
 */
export function coerceFields(draft: Record<string, unknown>): Rejection | undefined {
  for (const field of OPTIONAL_FIELDS_DROPPED_WHEN_NULL) {
    if (draft[field] === null) delete draft[field];
  }
  for (const field of BOOLEAN_FIELDS) {
    const value = draft[field];
    if (value === undefined || typeof value === "boolean") continue;
    const coerced = typeof value === "string" ? parseBooleanString(value) : undefined;
    if (coerced === undefined) {
      return reject("invalid_field_type", {
        field,
        expected: 'a boolean (true/false, or the strings "true"/"false")',
        got: describeJsonType(value),
      });
    }
    draft[field] = coerced;
  }
  if (typeof draft.sessionCredentialFromConsole === "boolean") {
    draft.sessionCredentialFromConsole = String(draft.sessionCredentialFromConsole);
  }
  return undefined;
}

function parseBooleanString(value: string): boolean | undefined {
  const lower = value.toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  return undefined;
}
