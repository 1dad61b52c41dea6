/**
 * The one place an `AwsApiCall` record is built from a call Cairn observed (self-audit, capture
 * proxy, middleware), so every capture path writes the same shape CloudTrail does.
 */
import { toEventTime } from "../lib/clock.js";
import {
  CURRENT_EVENT_VERSION,
  type CloudTrailRecord,
  type RecordResource,
  type UserIdentity,
} from "../model/record.js";
import { redactSecrets } from "./redact.js";
import { applySizeLimits } from "./size-limits.js";
import { repairLoneSurrogates } from "./steps/well-formed.js";

export interface ApiCallInput {
  eventSource: string;
  eventName: string;
  awsRegion: string;
  /** When the call completed (epoch ms); written with second precision. */
  eventTimeMs: number;
  userIdentity: UserIdentity | undefined;
  sourceIPAddress: string;
  userAgent?: string;
  /** As CloudTrail logs them: lower-camel member names (see toLowerCamelKeys), null when none. */
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  /** Service-specific facts about the call (S3: SignatureVersion, bytesTransferredIn…). */
  additionalEventData?: Record<string, unknown>;
  readOnly: boolean;
  managementEvent: boolean;
  errorCode?: string;
  errorMessage?: string;
  requestID: string;
  eventID: string;
  resources?: RecordResource[];
  recipientAccountId: string;
  tlsDetails?: CloudTrailRecord["tlsDetails"];
  apiVersion?: string;
}

/**
 * Builds the record and its JSON: eventVersion 1.11, fields in CloudTrail's order, secrets redacted,
 * responseElements null for read-only calls (spec §1.7), §1.7 size limits applied, unpaired
 * surrogates replaced by U+FFFD (ingest rule 13).
 *
 * @example buildApiCallRecord({ eventSource: "cloudtrail.amazonaws.com", eventName: "StartLogging", … })
 */
export function buildApiCallRecord(input: ApiCallInput): { record: CloudTrailRecord; json: string } {
  const context = { eventSource: input.eventSource, eventName: input.eventName };
  const redact = (field: string, value: Record<string, unknown> | null) =>
    redactSecrets(value, { ...context, field }) as Record<string, unknown> | null;
  const requestParameters = redact("requestParameters", input.requestParameters);
  const responseElements = input.readOnly ? null : redact("responseElements", input.responseElements);
  // Literal in CloudTrail's field order; undefined members are dropped by JSON.stringify and below.
  const draft: CloudTrailRecord = {
    eventVersion: CURRENT_EVENT_VERSION,
    userIdentity: input.userIdentity,
    eventTime: toEventTime(input.eventTimeMs),
    eventSource: input.eventSource,
    eventName: input.eventName,
    awsRegion: input.awsRegion,
    sourceIPAddress: input.sourceIPAddress,
    userAgent: input.userAgent,
    errorCode: input.errorCode,
    errorMessage: input.errorMessage,
    requestParameters,
    responseElements,
    additionalEventData: input.additionalEventData,
    requestID: input.requestID,
    eventID: input.eventID,
    readOnly: input.readOnly,
    resources: input.resources,
    eventType: "AwsApiCall",
    apiVersion: input.apiVersion,
    managementEvent: input.managementEvent,
    recipientAccountId: input.recipientAccountId,
    eventCategory: input.managementEvent ? "Management" : "Data",
    tlsDetails: input.tlsDetails,
  };
  const limited = applySizeLimits(withoutUndefined(draft));
  // An observed call can carry unpaired surrogates (a JSON body's `\ud800`); stored as U+FFFD.
  const { record, json } = repairLoneSurrogates(limited, JSON.stringify(limited));
  return { record, json };
}

/** Drops undefined members so `record` has exactly the keys `json` has. */
function withoutUndefined(record: CloudTrailRecord): CloudTrailRecord {
  for (const key of Object.keys(record)) {
    if (record[key] === undefined) delete record[key];
  }
  return record;
}
