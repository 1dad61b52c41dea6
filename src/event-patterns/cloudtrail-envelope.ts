import { createHash } from "node:crypto";
import { recordAccountId, type CloudTrailRecord } from "../model/record.js";

/** The event EventBridge delivers for a CloudTrail record (spec §9.1). */
export interface CloudTrailEnvelope {
  readonly version: "0";
  readonly id: string;
  readonly "detail-type": string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Record<string, unknown>;
}

/**
 * `detail-type` per `eventType`, spelled as EventBridge spells them (spec §9.1; note "Signin" with a
 * lower-case "i"): public rules match on these strings exactly.
 */
const DETAIL_TYPES: Readonly<Record<string, string>> = {
  AwsApiCall: "AWS API Call via CloudTrail",
  AwsConsoleSignIn: "AWS Console Signin via CloudTrail",
  AwsConsoleAction: "AWS Console Action via CloudTrail",
  AwsServiceEvent: "AWS Service Event via CloudTrail",
  AwsCloudTrailInsight: "AWS Insight via CloudTrail",
};

/** The `detail-type` of a record's envelope; undefined for event types EventBridge is not sent (network activity, Lake-only types). */
function detailTypeOf(record: Pick<CloudTrailRecord, "eventType">): string | undefined {
  // Records from before eventType existed (eventVersion < 1.02, e.g. the 2014 ElastiCache examples) were all API calls.
  return DETAIL_TYPES[record.eventType ?? "AwsApiCall"];
}

/** `aws.<service>` from the event source (`s3.amazonaws.com` → `aws.s3`); Insights records, which have none, are CloudTrail's. */
function sourceOf(record: CloudTrailRecord): string {
  const eventSource = typeof record.eventSource === "string" ? record.eventSource : "cloudtrail.amazonaws.com";
  return `aws.${eventSource.replace(/\.amazonaws\.com$/, "")}`;
}

/**
 * The envelope's id: a UUID derived from the record's eventID, so a record offered twice (a retry,
 * a replay after a restart) carries the same id and a receiver can drop the duplicate. EventBridge
 * draws its ids at random; nothing reads meaning into them.
 */
function envelopeIdOf(eventId: string): string {
  return derivedEnvelopeId(`cairn-eventbridge-envelope:${eventId}`);
}

/** A UUID (version 5 layout) derived from `seed`: the same seed always gives the same id. */
export function derivedEnvelopeId(seed: string): string {
  const hex = createHash("sha256").update(seed).digest("hex");
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The EventBridge envelope of a CloudTrail record, or undefined when EventBridge is not sent records
 * of its event type. `detail` is the record without `eventContext` (spec §9.1); `time` is its eventTime.
 */
export function cloudTrailEnvelopeOf(record: CloudTrailRecord): CloudTrailEnvelope | undefined {
  const detailType = detailTypeOf(record);
  if (detailType === undefined) return undefined;
  const { eventContext: _eventContext, ...detail } = record;
  return {
    version: "0",
    id: envelopeIdOf(record.eventID),
    "detail-type": detailType,
    source: sourceOf(record),
    account: recordAccountId(record),
    time: record.eventTime,
    region: record.awsRegion,
    resources: [],
    detail,
  };
}
