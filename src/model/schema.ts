/**
 * TypeBox schema of the CloudTrail record, eventVersion 1.11 field set (spec §1.2–1.6). Every object
 * allows additional properties: CloudTrail adds fields in minor versions and vendors add their own,
 * and Cairn keeps them all. The schema checks JSON types only; value rules (time format, limits,
 * derivations) live in src/normalize.
 */
import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { CloudTrailRecord } from "./record.js";

const open = { additionalProperties: true } as const;
// A plain JSON object with any members. Not Type.Record: its compiled check tests every key against a
// pattern, which costs per member on the hot path; this one is a typeof check.
const JsonObject = Type.Unsafe<Record<string, unknown>>(Type.Object({}, { additionalProperties: true }));
const OptionalString = Type.Optional(Type.String());

const SessionIssuerSchema = Type.Object(
  {
    type: OptionalString,
    principalId: OptionalString,
    arn: OptionalString,
    accountId: OptionalString,
    userName: OptionalString,
  },
  open,
);

const SessionContextSchema = Type.Object(
  {
    sessionIssuer: Type.Optional(SessionIssuerSchema),
    webIdFederationData: Type.Optional(JsonObject),
    // mfaAuthenticated is a *string* "true"/"false" in CloudTrail (spec §1.4.1).
    attributes: Type.Optional(Type.Object({ creationDate: OptionalString, mfaAuthenticated: OptionalString }, open)),
    sourceIdentity: OptionalString,
  },
  open,
);

const UserIdentitySchema = Type.Object(
  {
    type: OptionalString,
    principalId: OptionalString,
    arn: OptionalString,
    accountId: OptionalString,
    accessKeyId: OptionalString,
    userName: OptionalString,
    sessionContext: Type.Optional(SessionContextSchema),
    invokedBy: OptionalString,
  },
  open,
);

const RecordResourceSchema = Type.Object(
  { accountId: OptionalString, type: OptionalString, ARN: OptionalString, ARNPrefix: OptionalString },
  open,
);

const TlsDetailsSchema = Type.Object(
  { tlsVersion: OptionalString, cipherSuite: OptionalString, clientProvidedHostHeader: OptionalString },
  open,
);

/** Fields every record type may carry, with their JSON types (spec §1.2). */
const commonFields = {
  eventVersion: Type.String(),
  userIdentity: Type.Optional(UserIdentitySchema),
  eventTime: Type.String(),
  awsRegion: Type.String(),
  sourceIPAddress: OptionalString,
  userAgent: OptionalString,
  errorCode: OptionalString,
  errorMessage: OptionalString,
  additionalEventData: Type.Optional(JsonObject),
  requestID: OptionalString,
  eventID: Type.String(),
  readOnly: Type.Optional(Type.Boolean()),
  resources: Type.Optional(Type.Array(RecordResourceSchema)),
  eventType: Type.String(),
  apiVersion: OptionalString,
  managementEvent: Type.Optional(Type.Boolean()),
  recipientAccountId: OptionalString,
  sharedEventID: OptionalString,
  serviceEventDetails: Type.Optional(JsonObject),
  vpcEndpointId: OptionalString,
  vpcEndpointAccountId: OptionalString,
  insightDetails: Type.Optional(JsonObject),
  eventCategory: Type.String(),
  addendum: Type.Optional(JsonObject),
  tlsDetails: Type.Optional(TlsDetailsSchema),
  // A string "true", not a boolean (spec §1.2).
  sessionCredentialFromConsole: OptionalString,
  edgeDeviceDetails: Type.Optional(JsonObject),
  eventContext: Type.Optional(JsonObject),
  annotation: OptionalString,
};

/** Every record type except Insights: API calls, console, service and network-activity events. */
const CloudTrailRecordSchema = Type.Object(
  {
    ...commonFields,
    eventSource: Type.String(),
    eventName: Type.String(),
    requestParameters: Type.Union([JsonObject, Type.Null()]),
    responseElements: Type.Union([JsonObject, Type.Null()]),
  },
  open,
);

/**
 * `AwsCloudTrailInsight` records (spec §1.5, §8) have no eventSource, eventName, userIdentity or
 * request/response members; the API named by the insight is in insightDetails instead.
 */
const InsightRecordSchema = Type.Object(
  {
    ...commonFields,
    eventSource: OptionalString,
    eventName: OptionalString,
    requestParameters: Type.Optional(Type.Union([JsonObject, Type.Null()])),
    responseElements: Type.Optional(Type.Union([JsonObject, Type.Null()])),
  },
  open,
);

type CloudTrailRecordStatic = Static<typeof CloudTrailRecordSchema>;

// Compile-time proof that a schema-valid record is a CloudTrailRecord; fails the build if they drift.
const _assignable: (record: CloudTrailRecordStatic) => CloudTrailRecord = (record) => record;

/** Compiled checkers: TypeBox generates plain JS predicates, a few hundred ns per record. */
export const checkCloudTrailRecord = TypeCompiler.Compile(CloudTrailRecordSchema);
export const checkInsightRecord = TypeCompiler.Compile(InsightRecordSchema);
