/**
 * Fills fields an ingested record lacks, only where CloudTrail's own rules determine the value
 * (docs/reference/ingest-rules.md lists each rule). recipientAccountId is never filled: in
 * cross-account calls CloudTrail delivers copies to several accounts, so the caller's account is
 * not necessarily the recipient.
 */
import { isKnownDataEventApi } from "../data-event-apis.js";
import { reject, type Rejection } from "../reasons.js";

export const INSIGHT_EVENT_TYPE = "AwsCloudTrailInsight";

/** Event types that carry managementEvent from eventVersion 1.06 on (spec §1.2). */
const MANAGEMENT_FLAG_EVENT_TYPES: ReadonlySet<string> = new Set([
  "AwsApiCall",
  "AwsConsoleAction",
  "AwsConsoleSignIn",
  "AwsServiceEvent",
]);

/** The eventVersion that introduced each field after 1.0 (spec §1.3), oldest first. */
const FIELD_SINCE: ReadonlyArray<readonly [version: string, fields: readonly string[]]> = [
  ["1.01", ["requestID", "eventID", "readOnly", "resources", "apiVersion"]],
  ["1.02", ["eventType", "recipientAccountId"]],
  ["1.03", ["sharedEventID"]],
  ["1.04", ["vpcEndpointId"]],
  ["1.05", ["serviceEventDetails"]],
  ["1.06", ["managementEvent"]],
  ["1.07", ["eventCategory", "insightDetails"]],
  ["1.08", ["addendum", "sessionCredentialFromConsole", "edgeDeviceDetails", "tlsDetails"]],
  ["1.09", ["vpcEndpointAccountId"]],
  ["1.11", ["eventContext"]],
];

/**
 * eventType, when absent: CloudTrail before 1.02 recorded API calls, console sign-ins and service
 * events, and the record's own members tell them apart.
 */
export function deriveEventType(draft: Record<string, unknown>): void {
  if (draft.eventType !== undefined) return;
  if (draft.insightDetails !== undefined) draft.eventType = INSIGHT_EVENT_TYPE;
  else if (draft.eventSource === "signin.amazonaws.com") draft.eventType = "AwsConsoleSignIn";
  else if (draft.serviceEventDetails !== undefined) draft.eventType = "AwsServiceEvent";
  else draft.eventType = "AwsApiCall";
}

/** eventVersion, when absent: the oldest version that defines every field the record carries. */
export function deriveEventVersion(draft: Record<string, unknown>): void {
  if (draft.eventVersion !== undefined) return;
  let version = "1.0";
  for (const [since, fields] of FIELD_SINCE) {
    if (fields.some((field) => draft[field] !== undefined)) version = since;
  }
  draft.eventVersion = version;
}

/** eventCategory from eventType / managementEvent / the data-event table (spec §1.6). */
export function deriveEventCategory(draft: Record<string, unknown>): Rejection | undefined {
  if (draft.eventCategory !== undefined) return undefined;
  const eventType = String(draft.eventType);
  const category = categoryFor(eventType, draft);
  if (category === undefined) {
    return reject("missing_field", {
      field: "eventCategory",
      hint: `eventType ${JSON.stringify(eventType)} does not determine it; send Management, Data, NetworkActivity or Insight`,
    });
  }
  draft.eventCategory = category;
  return undefined;
}

function categoryFor(eventType: string, draft: Readonly<Record<string, unknown>>): string | undefined {
  if (eventType === INSIGHT_EVENT_TYPE) return "Insight";
  if (eventType === "AwsVpceEvent") return "NetworkActivity";
  if (!MANAGEMENT_FLAG_EVENT_TYPES.has(eventType)) return undefined;
  if (typeof draft.managementEvent === "boolean") return draft.managementEvent ? "Management" : "Data";
  if (eventType !== "AwsApiCall") return "Management";
  const isData = isKnownDataEventApi(String(draft.eventSource), String(draft.eventName));
  return isData ? "Data" : "Management";
}

/**
 * managementEvent, when absent: only for the event types and versions where CloudTrail writes it
 * (≥ 1.06), so older records stay as CloudTrail delivered them.
 */
export function deriveManagementEvent(draft: Record<string, unknown>): void {
  if (draft.managementEvent !== undefined) return;
  const derived = derivedManagementEvent(draft);
  if (derived !== undefined) draft.managementEvent = derived;
}

/** The managementEvent CloudTrail would write for this record, or undefined where it writes none. */
export function derivedManagementEvent(draft: Readonly<Record<string, unknown>>): boolean | undefined {
  if (!MANAGEMENT_FLAG_EVENT_TYPES.has(String(draft.eventType))) return undefined;
  if (compareEventVersions(String(draft.eventVersion), "1.06") < 0) return undefined;
  if (draft.eventCategory === "Management") return true;
  if (draft.eventCategory === "Data") return false;
  return undefined;
}

/**
 * requestParameters/responseElements are always present, `null` when empty (spec §1.2), on every
 * record type except Insights, which has neither.
 */
export function fillPayloadNulls(draft: Record<string, unknown>): void {
  if (draft.eventType === INSIGHT_EVENT_TYPE) return;
  if (draft.requestParameters === undefined) draft.requestParameters = null;
  if (draft.responseElements === undefined) draft.responseElements = null;
}

/** eventID, when absent: a fresh UUID, as CloudTrail assigns one to every event. */
export function fillEventId(draft: Record<string, unknown>, randomUUID: () => string): void {
  if (draft.eventID === undefined) draft.eventID = randomUUID();
}

/** Compares "major.minor" versions numerically ("1.5" and "1.05" are equal). */
function compareEventVersions(left: string, right: string): number {
  const [leftMajor = 0, leftMinor = 0] = left.split(".").map(Number);
  const [rightMajor = 0, rightMinor = 0] = right.split(".").map(Number);
  return leftMajor !== rightMajor ? leftMajor - rightMajor : leftMinor - rightMinor;
}
