/**
 * Well-known data-event APIs (spec §1.6: eventCategory `Data`), used only to classify an ingested
 * AwsApiCall that carries neither eventCategory nor managementEvent (records older than eventVersion
 * 1.06/1.07, or exports that dropped both). CloudTrail classifies by resource type; this table covers
 * the resource types whose data events predate those fields (S3 objects, Lambda functions, DynamoDB
 * items and streams). Anything not listed is classified Management, which is what every other API
 * call of that era was.
 */
const DATA_EVENT_APIS: Readonly<Record<string, ReadonlySet<string>>> = {
  "s3.amazonaws.com": new Set([
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
    "ListObjects",
    "ListObjectVersions",
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
  ]),
  "lambda.amazonaws.com": new Set(["Invoke", "InvokeAsync", "InvokeWithResponseStream"]),
  "dynamodb.amazonaws.com": new Set([
    "BatchExecuteStatement",
    "BatchGetItem",
    "BatchWriteItem",
    "DeleteItem",
    "ExecuteStatement",
    "ExecuteTransaction",
    "GetItem",
    "GetRecords",
    "GetShardIterator",
    "PutItem",
    "Query",
    "Scan",
    "TransactGetItems",
    "TransactWriteItems",
    "UpdateItem",
  ]),
};

/** True when eventSource/eventName is one of the well-known data-event APIs above. */
export function isKnownDataEventApi(eventSource: string, eventName: string): boolean {
  return DATA_EVENT_APIS[eventSource]?.has(eventName) ?? false;
}
