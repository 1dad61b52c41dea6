/**
 * How the matcher reads a record. Records in the journal are normalised (src/normalize), but the
 * matcher is also run over archived or hand-made records, so it tolerates the spellings the samples
 * hold (booleans as strings, missing eventCategory on records older than eventVersion 1.07).
 */
import type { CloudTrailRecord } from "../model/record.js";

export type EventCategory = "Management" | "Data" | "NetworkActivity" | "Insight" | (string & {});

function isTrue(value: unknown): boolean {
  return value === true || (typeof value === "string" && value.toLowerCase() === "true");
}

/** eventCategory as written, else derived as CloudTrail does (spec §1.6). */
export function categoryOf(record: CloudTrailRecord): EventCategory {
  if (typeof record.eventCategory === "string" && record.eventCategory !== "") return record.eventCategory;
  if (record.eventType === "AwsCloudTrailInsight") return "Insight";
  if (record.eventType === "AwsVpceEvent") return "NetworkActivity";
  const management: unknown = record.managementEvent;
  return management === false || management === "false" ? "Data" : "Management";
}

/**
 * A record without `readOnly` (old sign-in records) counts as a write: CloudTrail classifies every
 * management event as read or write, and sign-in/service events are writes.
 */
export function isReadOnly(record: CloudTrailRecord): boolean {
  return isTrue(record.readOnly);
}

export interface ResourceRef {
  readonly type: string;
  /** ARN, or ARNPrefix for calls on many objects (S3 ListObjects names `arn:aws:s3:::bucket/`). */
  readonly arn: string | undefined;
}

export function resourcesOf(record: CloudTrailRecord): ResourceRef[] {
  const list: unknown = record.resources;
  if (!Array.isArray(list)) return [];
  const out: ResourceRef[] = [];
  for (const item of list as unknown[]) {
    if (typeof item !== "object" || item === null) continue;
    const resource = item as Record<string, unknown>;
    const arn = typeof resource["ARN"] === "string" ? resource["ARN"] : resource["ARNPrefix"];
    out.push({
      type: typeof resource["type"] === "string" ? resource["type"] : "",
      arn: typeof arn === "string" ? arn : undefined,
    });
  }
  return out;
}

function stringField(value: unknown): string[] {
  return typeof value === "string" ? [value] : [];
}

/**
 * The values of an advanced-selector field for one record; empty when the record lacks the field.
 * `resources.ARN` is narrowed to resources of `arnTypes` when the selector also names resources.type
 * (spec §6.2 leaves multi-resource records open; a data event's bucket resource must not satisfy a
 * condition meant for its object resource).
 */
export function fieldValues(record: CloudTrailRecord, field: string, arnTypes?: ReadonlySet<string>): string[] {
  switch (field) {
    case "eventCategory":
      return [categoryOf(record)];
    case "readOnly":
      return [isReadOnly(record) ? "true" : "false"];
    case "resources.type":
      return resourcesOf(record).map((r) => r.type);
    case "resources.ARN":
      return resourcesOf(record)
        .filter((r) => arnTypes === undefined || arnTypes.has(r.type))
        .flatMap((r) => (r.arn === undefined ? [] : [r.arn]));
    case "userIdentity.arn":
      return stringField(record.userIdentity?.arn);
    case "sessionCredentialFromConsole":
      return isTrue(record.sessionCredentialFromConsole) ? ["true"] : [];
    case "eventSource":
    case "eventName":
    case "errorCode":
    case "eventType":
    case "vpcEndpointId":
      return stringField(record[field]);
    default:
      return [];
  }
}
