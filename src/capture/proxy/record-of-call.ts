/**
 * Builds the CloudTrail record of one proxied call with `buildApiCallRecord` (the one place capture
 * paths build AwsApiCall records): identity from the access key, protocol decoding, classification.
 */
import { randomUUID } from "node:crypto";
import { userIdentityOf, type Principal } from "../../stores/principals/index.js";
import type { UserIdentity } from "../../model/record.js";
import { buildApiCallRecord } from "../../normalize/build-record.js";
import { isDataEvent, isReadOnly, resourcesOf } from "../protocols/classify.js";
import { s3AdditionalEventData } from "../protocols/additional-event-data.js";
import { eventNameOf } from "../protocols/event-name.js";
import { decodeCall, type CapturedResponse } from "../protocols/decode-call.js";
import { headerText, type CapturedRequest } from "../protocols/identify.js";
import { identifyCall } from "../protocols/protocol-codecs.js";
import { pathStyleOf } from "../protocols/s3-host.js";
import type { ServiceModels } from "../protocols/service-models.js";

/** What the SigV4 credential scope says about the caller and the target. */
export interface CallScope {
  readonly accessKeyId: string;
  readonly region: string;
  readonly service: string;
}

export interface RecordContext {
  readonly models: ServiceModels;
  /** The account of calls whose access key is unknown (recipientAccountId, resource ARNs). */
  readonly defaultAccountId: string;
}

export interface ObservedCall {
  readonly scope: CallScope;
  readonly request: CapturedRequest;
  readonly response: CapturedResponse;
  readonly sourceIPAddress: string;
  readonly completedAtMs: number;
  /** When the client called over TLS (spec §1.2): version, OpenSSL cipher name, the Host it sent. */
  readonly tlsDetails?: { tlsVersion: string; cipherSuite: string; clientProvidedHostHeader?: string };
}

/**
 * The record's JSON, or undefined when the request names no operation of a known service. `principal`
 * owns the call's access key (undefined when unknown); callers resolve it, in batches, beforehand.
 */
export function recordOfCall(
  context: RecordContext,
  call: ObservedCall,
  principal?: Principal | undefined,
): string | undefined {
  const { scope } = call;
  // Virtual-hosted S3 (`<bucket>.localhost`) is decoded as the path-style request it stands for.
  const request = pathStyleOf(scope.service, call.request);
  const identified = identifyCall(context.models, scope.service, request);
  if (identified === undefined) return undefined;
  // CloudTrail still logs calls by callers it cannot resolve, as type Unknown with the key they used.
  const userIdentity: UserIdentity =
    principal === undefined ? { type: "Unknown", accessKeyId: scope.accessKeyId } : userIdentityOf(principal);
  const accountId = principal?.accountId ?? context.defaultAccountId;
  const decoded = decodeCall(identified, request, call.response);
  const eventSource = `${identified.model.metadata.endpointPrefix}.amazonaws.com`;
  // Lambda's names carry API versions (`ListFunctions20150331`); the rules read the operation's name.
  const operationName = identified.operation.name;
  const eventName = eventNameOf(identified.model, identified.operation);
  const readOnly = isReadOnly(operationName);
  const resources = resourcesOf({
    eventSource,
    eventName,
    region: scope.region,
    accountId,
    requestParameters: decoded.requestParameters,
    responseElements: decoded.responseElements,
    ...(decoded.objectKey === undefined ? {} : { objectKey: decoded.objectKey }),
    ...(decoded.errorCode === undefined ? {} : { errorCode: decoded.errorCode }),
  });
  const { json } = buildApiCallRecord({
    eventSource,
    eventName,
    awsRegion: scope.region,
    eventTimeMs: call.completedAtMs,
    userIdentity,
    sourceIPAddress: call.sourceIPAddress,
    userAgent: headerText(request.headers, "user-agent"),
    requestParameters: decoded.requestParameters,
    responseElements: decoded.responseElements,
    ...(eventSource === "s3.amazonaws.com"
      ? { additionalEventData: s3AdditionalEventData(request, call.response, call.tlsDetails?.cipherSuite) }
      : {}),
    readOnly,
    managementEvent: !isDataEvent(eventSource, operationName, decoded.objectKey),
    ...(decoded.errorCode === undefined ? {} : { errorCode: decoded.errorCode }),
    ...(decoded.errorMessage === undefined ? {} : { errorMessage: decoded.errorMessage }),
    requestID: decoded.requestID ?? randomUUID(),
    eventID: randomUUID(),
    ...(resources.length === 0 ? {} : { resources }),
    recipientAccountId: accountId,
    ...(call.tlsDetails === undefined ? {} : { tlsDetails: call.tlsDetails }),
  });
  return json;
}
