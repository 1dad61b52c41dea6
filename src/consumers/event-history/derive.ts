import type { CloudTrailRecord, UserIdentity } from "../../model/record.js";
import type { LookupEvent } from "./event-history.js";
import { deriveResources } from "./derive-resources.js";

/**
 * Pure derivation of LookupEvents fields from a record (spec §4.2). The index and the query-time
 * re-check both go through these functions, so what is indexed and what is matched never disagree.
 */

/**
 * Which Event history view a record belongs to, or undefined when Event history never shows it (spec
 * §4.1). Insights on data events have their own view: ListInsightsData reads it, LookupEvents never
 * does (spec §8.1; decision 0019).
 */
export type EventHistoryCategory = "management" | "insight" | "dataInsight";

/** Whether an Insights record is about data events: Cairn marks them `insightDetails.eventCategory: "Data"` (decision 0019). */
function isDataInsight(record: CloudTrailRecord): boolean {
  const details = record["insightDetails"];
  return typeof details === "object" && details !== null && (details as InsightDetails).eventCategory === "Data";
}

export function classifyRecord(record: CloudTrailRecord): EventHistoryCategory | undefined {
  if (record.eventType === "AwsCloudTrailInsight" || record.eventCategory === "Insight")
    return isDataInsight(record) ? "dataInsight" : "insight";
  // Only management events: not data or network activity, nor Lake-only kinds such as channel (ActivityAuditLog) events.
  if (record.eventCategory !== undefined && record.eventCategory !== "Management") return undefined;
  if (record.managementEvent === false) return undefined;
  return "management";
}

/** eventTime as whole epoch seconds (CloudTrail writes whole seconds; a fraction is dropped), or undefined when unparsable. */
export function eventTimeSeconds(record: Pick<CloudTrailRecord, "eventTime">): number | undefined {
  const ms = typeof record.eventTime === "string" ? Date.parse(record.eventTime) : Number.NaN;
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

function lastSegment(arn: string, marker: string): string | undefined {
  const at = arn.indexOf(marker);
  if (at < 0) return undefined;
  const rest = arn.slice(at + marker.length);
  const slash = rest.lastIndexOf("/");
  const name = slash < 0 ? rest : rest.slice(slash + 1);
  return name === "" ? undefined : name;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** "User name or role name of the requester" (spec §4.2; the per-type mapping is inferred from AWS examples). */
export function deriveUsername(identity: UserIdentity | undefined): string | undefined {
  if (identity === undefined) return undefined;
  const arn = typeof identity.arn === "string" ? identity.arn : "";
  switch (identity.type) {
    case "IAMUser":
      return nonEmpty(identity.userName) ?? lastSegment(arn, ":user/");
    case "Root":
      return "root";
    case "AssumedRole": {
      const session = lastSegment(arn, ":assumed-role/");
      if (session !== undefined) return session;
      // Without an ARN the session name is the part of principalId after the role id.
      const principalId = nonEmpty(identity.principalId);
      const colon = principalId?.indexOf(":") ?? -1;
      return colon >= 0 ? nonEmpty(principalId?.slice(colon + 1)) : nonEmpty(identity.userName);
    }
    case "FederatedUser":
      return lastSegment(arn, ":federated-user/") ?? nonEmpty(identity.userName);
    case "AWSService":
      return nonEmpty(identity.invokedBy);
    case "IdentityCenterUser": {
      const onBehalfOf = identity["onBehalfOf"];
      const userId =
        typeof onBehalfOf === "object" && onBehalfOf !== null ? (onBehalfOf as { userId?: unknown }).userId : undefined;
      return nonEmpty(userId) ?? nonEmpty(identity.userName);
    }
    default:
      return nonEmpty(identity.userName);
  }
}

interface InsightDetails {
  eventName?: unknown;
  eventSource?: unknown;
  eventCategory?: unknown;
}

/**
 * The LookupEvents `Event` for a record. `json` is the journal entry's text, served as
 * `CloudTrailEvent` unchanged so clients see exactly what was stored.
 */
export function lookupEventFromRecord(json: string, record: CloudTrailRecord): LookupEvent {
  const time = eventTimeSeconds(record) ?? 0;
  const category = classifyRecord(record);
  if (category === "insight" || category === "dataInsight") {
    // Insights records carry the name and source of the API they describe in insightDetails (spec §1.5).
    const details = (record["insightDetails"] ?? {}) as InsightDetails;
    return {
      EventId: record.eventID,
      EventName: nonEmpty(details.eventName) ?? nonEmpty(record.eventName) ?? "",
      EventTime: time,
      EventSource: nonEmpty(details.eventSource) ?? nonEmpty(record.eventSource) ?? "",
      Resources: [],
      CloudTrailEvent: json,
    };
  }
  const event: LookupEvent = {
    EventId: record.eventID,
    EventName: record.eventName,
    EventTime: time,
    EventSource: record.eventSource,
    Resources: deriveResources(record),
    CloudTrailEvent: json,
  };
  if (typeof record.readOnly === "boolean") event.ReadOnly = String(record.readOnly);
  const accessKeyId = nonEmpty(record.userIdentity?.accessKeyId);
  if (accessKeyId !== undefined) event.AccessKeyId = accessKeyId;
  const username = deriveUsername(record.userIdentity);
  if (username !== undefined) event.Username = username;
  return event;
}
