/**
 * CloudTrail's data events (spec §1.6 `eventCategory: Data`, §6 data-event resource types): which
 * eventSource/eventName pairs are data events and the resource type CloudTrail files them under. The
 * one table both classifiers read: the capture proxy (`managementEvent`, `resources`) and ingest,
 * for an AwsApiCall that carries neither eventCategory nor managementEvent (records older than
 * eventVersion 1.06/1.07, or exports that dropped both). Anything not listed is a management event.
 *
 * Names are CloudTrail's eventNames, not the service models' operation names (S3 logs
 * ListObjectsV2 as `ListObjects`). The SSM agent's channels are logged under `ssm.amazonaws.com`
 * though signed for `ssmmessages`/`ec2messages`, as the Systems Manager CloudTrail page's
 * CreateControlChannel example shows; `signingServices` makes every call signed so a data event of
 * that type, including operations not listed (the agent's API is not published).
 */

/** The data-event resource types Cairn classifies (spec §6.2 list; `resources.type` values). */
export type DataResourceType =
  | "AWS::S3::Object"
  | "AWS::Lambda::Function"
  | "AWS::DynamoDB::Table"
  | "AWS::DynamoDB::Stream"
  | "AWS::SNS::Topic"
  | "AWS::SQS::Queue"
  | "AWS::SSMMessages::ControlChannel"
  | "AWS::SSM::ManagedNode";

export interface DataEventApi {
  readonly eventSource: string;
  readonly resourceType: DataResourceType;
  readonly eventNames: ReadonlySet<string>;
  /** SigV4 service names whose every call is a data event of this type (named or not). */
  readonly signingServices?: readonly string[];
}

const S3_OBJECT_EVENTS = [
  "AbortMultipartUpload",
  "CompleteMultipartUpload",
  "CopyObject",
  "CreateMultipartUpload",
  "DeleteObject",
  "DeleteObjects",
  "DeleteObjectTagging",
  "GetObject",
  "GetObjectAcl",
  "GetObjectAttributes",
  "GetObjectLegalHold",
  "GetObjectRetention",
  "GetObjectTagging",
  "GetObjectTorrent",
  "HeadObject",
  "ListMultipartUploadParts",
  // CloudTrail's ListObjects records are `eventCategory: Data` (ListObjectsV2 is logged as ListObjects).
  "ListObjects",
  "ListObjectVersions",
  "ListParts",
  "PostObject",
  "PutObject",
  "PutObjectAcl",
  "PutObjectLegalHold",
  "PutObjectRetention",
  "PutObjectTagging",
  "RestoreObject",
  "SelectObjectContent",
  "UploadPart",
  "UploadPartCopy",
];

const DYNAMODB_ITEM_EVENTS = [
  "BatchExecuteStatement",
  "BatchGetItem",
  "BatchWriteItem",
  "DeleteItem",
  "ExecuteStatement",
  "ExecuteTransaction",
  "GetItem",
  "PutItem",
  "Query",
  "Scan",
  "TransactGetItems",
  "TransactWriteItems",
  "UpdateItem",
];

const SQS_MESSAGE_EVENTS = [
  "ChangeMessageVisibility",
  "ChangeMessageVisibilityBatch",
  "DeleteMessage",
  "DeleteMessageBatch",
  "ReceiveMessage",
  "SendMessage",
  "SendMessageBatch",
];

/** The SSM agent's Session Manager channels (ssmmessages). */
const SSM_CHANNEL_EVENTS = ["CreateControlChannel", "CreateDataChannel", "OpenControlChannel", "OpenDataChannel"];

/** The SSM agent's calls on its managed node: ec2messages' command delivery and its role token. */
const SSM_MANAGED_NODE_EVENTS = [
  "AcknowledgeMessage",
  "DeleteMessage",
  "FailMessage",
  "GetEndpoint",
  "GetMessages",
  "SendReply",
  "RequestManagedInstanceRoleToken",
];

function api(
  eventSource: string,
  resourceType: DataResourceType,
  eventNames: readonly string[],
  signingServices?: readonly string[],
): DataEventApi {
  return {
    eventSource,
    resourceType,
    eventNames: new Set(eventNames),
    ...(signingServices ? { signingServices } : {}),
  };
}

export const DATA_EVENT_APIS: readonly DataEventApi[] = [
  api("s3.amazonaws.com", "AWS::S3::Object", S3_OBJECT_EVENTS),
  api("lambda.amazonaws.com", "AWS::Lambda::Function", ["Invoke", "InvokeAsync", "InvokeWithResponseStream"]),
  api("dynamodb.amazonaws.com", "AWS::DynamoDB::Table", DYNAMODB_ITEM_EVENTS),
  api("dynamodb.amazonaws.com", "AWS::DynamoDB::Stream", ["GetRecords", "GetShardIterator"]),
  api("sns.amazonaws.com", "AWS::SNS::Topic", ["Publish", "PublishBatch"]),
  api("sqs.amazonaws.com", "AWS::SQS::Queue", SQS_MESSAGE_EVENTS),
  api("ssm.amazonaws.com", "AWS::SSMMessages::ControlChannel", SSM_CHANNEL_EVENTS, ["ssmmessages"]),
  api("ssm.amazonaws.com", "AWS::SSM::ManagedNode", SSM_MANAGED_NODE_EVENTS, ["ec2messages"]),
];

/**
 * The table's entry for a call: by eventSource and eventName, else (a call the proxy saw) by the
 * service it was signed for.
 *
 * @example dataEventApiOf("sns.amazonaws.com", "Publish")?.resourceType // → "AWS::SNS::Topic"
 * @example dataEventApiOf("ssm.amazonaws.com", "FutureOp", "ssmmessages")?.resourceType // → "AWS::SSMMessages::ControlChannel"
 */
export function dataEventApiOf(
  eventSource: string,
  eventName: string,
  signingService?: string,
): DataEventApi | undefined {
  const named = DATA_EVENT_APIS.find((entry) => entry.eventSource === eventSource && entry.eventNames.has(eventName));
  if (named !== undefined || signingService === undefined) return named;
  return DATA_EVENT_APIS.find(
    (entry) => entry.eventSource === eventSource && entry.signingServices?.includes(signingService) === true,
  );
}

/** True when eventSource/eventName is a data event of the table above. */
export function isKnownDataEventApi(eventSource: string, eventName: string): boolean {
  return dataEventApiOf(eventSource, eventName) !== undefined;
}
