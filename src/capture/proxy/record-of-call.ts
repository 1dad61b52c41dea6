/**
 * Builds the CloudTrail record of one proxied call with `buildApiCallRecord` (the one place capture
 * paths build AwsApiCall records): identity from the access key, protocol decoding (or, for an
 * operation no model knows, naming from the request itself), classification.
 */
import { randomUUID } from "node:crypto";
import { userIdentityOf, type Principal } from "../../stores/principals/index.js";
import type { UserIdentity } from "../../model/record.js";
import { buildApiCallRecord } from "../../normalize/build-record.js";
import { isReadOnly, resourcesOf } from "../protocols/classify.js";
import { isDataEventCall } from "../protocols/data-events.js";
import { s3AdditionalEventData } from "../protocols/additional-event-data.js";
import { eventNameOf } from "../protocols/event-name.js";
import {
  decodeCall,
  decodeUnmodelledResponse,
  type CapturedResponse,
  type DecodedCall,
} from "../protocols/decode-call.js";
import { headerText, type CapturedRequest } from "../protocols/identify.js";
import { withRecordLayout } from "../protocols/record-layouts.js";
import { identifyCall } from "../protocols/protocol-codecs.js";
import { pathStyleOf } from "../protocols/s3-host.js";
import { describeUnmodelledCall } from "../protocols/unmodelled.js";
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
  /** Told of each call recorded without a model (the recorder logs each operation once). */
  readonly onUnmodelled?: (eventSource: string, eventName: string) => void;
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

/** What the record says about the call's operation, from its model or, without one, from the request. */
interface CallFacts {
  readonly eventSource: string;
  readonly eventName: string;
  /** The name the readOnly rule reads (Lambda's operation name, without the eventName's version). */
  readonly operationName: string;
  readonly decoded: DecodedCall;
}

function modelledFacts(
  context: RecordContext,
  service: string,
  request: CapturedRequest,
  call: ObservedCall,
): CallFacts | undefined {
  const identified = identifyCall(context.models, service, request);
  if (identified === undefined) return undefined;
  const eventSource = `${identified.model.metadata.endpointPrefix}.amazonaws.com`;
  const eventName = eventNameOf(identified.model, identified.operation);
  return {
    eventSource,
    eventName,
    // Lambda's names carry API versions (`ListFunctions20150331`); the rules read the operation's name.
    operationName: identified.operation.name,
    decoded: withRecordLayout(eventSource, eventName, decodeCall(identified, request, call.response)),
  };
}

/** A call no bundled model knows is recorded all the same, named from the request (unmodelled.ts). */
function unmodelledFacts(
  context: RecordContext,
  service: string,
  request: CapturedRequest,
  call: ObservedCall,
): CallFacts | undefined {
  const modelledSource = context.models.candidates(service)[0]?.metadata.endpointPrefix;
  const described = describeUnmodelledCall(service, request, modelledSource);
  if (described === undefined) return undefined;
  context.onUnmodelled?.(described.eventSource, described.eventName);
  const decoded = { ...decodeUnmodelledResponse(call.response), requestParameters: described.requestParameters };
  return {
    eventSource: described.eventSource,
    eventName: described.eventName,
    operationName: described.eventName,
    decoded,
  };
}

/**
 * The record's JSON, or undefined when the request cannot be named at all (a scope service that is
 * no AWS name). `principal` owns the call's access key (undefined when unknown); callers resolve it,
 * in batches, beforehand.
 */
export function recordOfCall(
  context: RecordContext,
  call: ObservedCall,
  principal?: Principal | undefined,
): string | undefined {
  const { scope } = call;
  // Virtual-hosted S3 (`<bucket>.localhost`) is decoded as the path-style request it stands for.
  const request = pathStyleOf(scope.service, call.request);
  const facts: CallFacts | undefined =
    modelledFacts(context, scope.service, request, call) ?? unmodelledFacts(context, scope.service, request, call);
  if (facts === undefined) return undefined;
  const { eventSource, eventName, decoded } = facts;
  // CloudTrail still logs calls by callers it cannot resolve, as type Unknown with the key they used.
  const userIdentity: UserIdentity =
    principal === undefined ? { type: "Unknown", accessKeyId: scope.accessKeyId } : userIdentityOf(principal);
  const accountId = principal?.accountId ?? context.defaultAccountId;
  const readOnly = isReadOnly(facts.operationName);
  const resources = resourcesOf({
    eventSource,
    eventName,
    region: scope.region,
    accountId,
    requestParameters: decoded.requestParameters,
    responseElements: decoded.responseElements,
    signingService: scope.service,
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
    managementEvent: !isDataEventCall(eventSource, eventName, scope.service),
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
