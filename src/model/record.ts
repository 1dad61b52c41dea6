/**
 * The CloudTrail event record (spec §1). Cairn stores and serves records as plain JSON objects;
 * this type names the fields Cairn itself reads or writes, and keeps every other field as-is so
 * that archived records round-trip byte-for-byte in meaning.
 */
export const CURRENT_EVENT_VERSION = "1.11";

interface SessionIssuer {
  type?: string;
  principalId?: string;
  arn?: string;
  accountId?: string;
  userName?: string;
}

interface SessionContext {
  sessionIssuer?: SessionIssuer;
  webIdFederationData?: Record<string, unknown>;
  attributes?: { creationDate?: string; mfaAuthenticated?: string };
  sourceIdentity?: string;
  [extra: string]: unknown;
}

export interface UserIdentity {
  type?: string;
  principalId?: string;
  arn?: string;
  accountId?: string;
  accessKeyId?: string;
  userName?: string;
  sessionContext?: SessionContext;
  invokedBy?: string;
  [extra: string]: unknown;
}

export interface RecordResource {
  accountId?: string;
  type?: string;
  ARN?: string;
  ARNPrefix?: string;
}

export interface CloudTrailRecord {
  eventVersion: string;
  userIdentity?: UserIdentity;
  eventTime: string;
  /**
   * Absent at runtime on `AwsCloudTrailInsight` records (spec §1.5), like requestParameters and
   * responseElements; check eventType before relying on these three for an Insights record.
   */
  eventSource: string;
  eventName: string;
  awsRegion: string;
  sourceIPAddress?: string;
  userAgent?: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  additionalEventData?: Record<string, unknown>;
  requestID?: string;
  eventID: string;
  readOnly?: boolean;
  resources?: RecordResource[];
  eventType: string;
  apiVersion?: string;
  managementEvent?: boolean;
  recipientAccountId?: string;
  serviceEventDetails?: Record<string, unknown>;
  sharedEventID?: string;
  vpcEndpointId?: string;
  eventCategory: string;
  tlsDetails?: { tlsVersion?: string; cipherSuite?: string; clientProvidedHostHeader?: string };
  sessionCredentialFromConsole?: string;
  [extra: string]: unknown;
}

/** The account a record belongs to for isolation: the recipient, else the caller's account. */
export function recordAccountId(record: Pick<CloudTrailRecord, "recipientAccountId" | "userIdentity">): string {
  return record.recipientAccountId ?? record.userIdentity?.accountId ?? "";
}
