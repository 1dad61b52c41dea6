/**
 * The order CloudTrail writes top-level fields in (spec §1.8 example, confirmed against the real
 * delivery files in the shared samples). Records are serialised in this order so Cairn's files and
 * LookupEvents payloads read like CloudTrail's; fields not listed follow in their original order.
 */
export const CLOUDTRAIL_FIELD_ORDER = [
  "eventVersion",
  "userIdentity",
  "eventTime",
  "eventSource",
  "eventName",
  "awsRegion",
  "sourceIPAddress",
  "userAgent",
  "errorCode",
  "errorMessage",
  "requestParameters",
  "responseElements",
  "additionalEventData",
  "requestID",
  "eventID",
  "readOnly",
  "resources",
  "eventType",
  "apiVersion",
  "managementEvent",
  "recipientAccountId",
  "sharedEventID",
  "serviceEventDetails",
  "vpcEndpointId",
  "vpcEndpointAccountId",
  "insightDetails",
  "eventCategory",
  "addendum",
  "tlsDetails",
  "sessionCredentialFromConsole",
  "edgeDeviceDetails",
  "eventContext",
  "annotation",
] as const;

const KNOWN: ReadonlySet<string> = new Set(CLOUDTRAIL_FIELD_ORDER);

/** Returns a new object with known fields in CloudTrail order, then the others; undefined skipped. */
export function orderFields(record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const ordered: Record<string, unknown> = {};
  for (const field of CLOUDTRAIL_FIELD_ORDER) {
    const value = record[field];
    if (value !== undefined) ordered[field] = value;
  }
  for (const field of Object.keys(record)) {
    if (KNOWN.has(field)) continue;
    const value = record[field];
    // "__proto__" as an own key would otherwise set the prototype instead of copying the field.
    if (field === "__proto__")
      Object.defineProperty(ordered, field, { value, enumerable: true, writable: true, configurable: true });
    else if (value !== undefined) ordered[field] = value;
  }
  return ordered;
}
