/**
 * CloudTrail's per-call classification, which no service model states: readOnly, management vs data
 * event, and the `resources` whose ARNs can be derived from the call. These are CloudTrail's
 * conventions (spec §1.2, §1.6; the data-event lists of the trail event-selector docs), kept here as
 * short rules rather than per-operation tables.
 */
import type { RecordResource } from "../../model/record.js";

/** CloudTrail marks Describe*, Get*, List*… calls readOnly (and logs their responseElements as null). */
const READ_ONLY = /^(Describe|Get|List|Head|Lookup|Search|Query|Scan|BatchGet|Select|Check|Estimate|Preview)/;

export function isReadOnly(operation: string): boolean {
  return READ_ONLY.test(operation);
}

const DYNAMODB_ITEM_OPERATIONS = new Set([
  "GetItem",
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "BatchGetItem",
  "BatchWriteItem",
  "Query",
  "Scan",
  "TransactGetItems",
  "TransactWriteItems",
  "ExecuteStatement",
  "BatchExecuteStatement",
  "ExecuteTransaction",
]);

/** S3 calls on a bucket's objects without naming one (CloudTrail logs them as data events). */
const S3_OBJECT_LISTINGS = new Set(["ListObjects", "ListObjectsV2", "ListObjectVersions"]);

/**
 * Data events: S3 object-level calls (an object key in the route, DeleteObjects, the object
 * listings: CloudTrail's ListObjects records are `eventCategory: Data`), Lambda Invoke,
 * DynamoDB item calls, SSM/EC2 message control channels. Everything else is a management event.
 */
export function isDataEvent(eventSource: string, operation: string, objectKey: string | undefined): boolean {
  switch (eventSource) {
    case "s3.amazonaws.com":
      return objectKey !== undefined || operation === "DeleteObjects" || S3_OBJECT_LISTINGS.has(operation);
    case "lambda.amazonaws.com":
      return operation.startsWith("Invoke");
    case "dynamodb.amazonaws.com":
      return DYNAMODB_ITEM_OPERATIONS.has(operation);
    case "ssmmessages.amazonaws.com":
    case "ec2messages.amazonaws.com":
      return true;
    default:
      return false;
  }
}

export interface ResourceContext {
  readonly eventSource: string;
  readonly eventName: string;
  readonly region: string;
  readonly accountId: string;
  readonly requestParameters: Record<string, unknown> | null;
  readonly responseElements: Record<string, unknown> | null;
  readonly objectKey?: string;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** EC2 `{items: [{instanceId}]}` → ids. */
function ec2InstanceIds(set: unknown): string[] {
  const items = typeof set === "object" && set !== null ? (set as { items?: unknown }).items : undefined;
  if (!Array.isArray(items)) return [];
  return items.flatMap((item: unknown) => {
    const id =
      typeof item === "object" && item !== null ? text((item as { instanceId?: unknown }).instanceId) : undefined;
    return id === undefined ? [] : [id];
  });
}

/** The resources CloudTrail lists for the services the proxy knows how to name; [] otherwise. */
export function resourcesOf(context: ResourceContext): RecordResource[] {
  const { region, accountId } = context;
  const request = context.requestParameters ?? {};
  const response = context.responseElements ?? {};
  const one = (type: string, arn: string): RecordResource[] => [{ accountId, type, ARN: arn }];
  switch (context.eventSource) {
    case "elasticache.amazonaws.com": {
      const id = text(request["cacheClusterId"]);
      return id === undefined
        ? []
        : one("AWS::ElastiCache::CacheCluster", `arn:aws:elasticache:${region}:${accountId}:cluster:${id}`);
    }
    case "rds.amazonaws.com": {
      const id = text(request["dBInstanceIdentifier"]);
      return id === undefined ? [] : one("AWS::RDS::DBInstance", `arn:aws:rds:${region}:${accountId}:db:${id}`);
    }
    case "ec2.amazonaws.com": {
      const ids = new Set([...ec2InstanceIds(request["instancesSet"]), ...ec2InstanceIds(response["instancesSet"])]);
      return [...ids].flatMap((id) => one("AWS::EC2::Instance", `arn:aws:ec2:${region}:${accountId}:instance/${id}`));
    }
    case "ssm.amazonaws.com": {
      const name = context.eventName.endsWith("Document") ? text(request["name"]) : undefined;
      return name === undefined ? [] : one("AWS::SSM::Document", `arn:aws:ssm:${region}:${accountId}:document/${name}`);
    }
    case "s3.amazonaws.com": {
      const bucket = text(request["bucketName"]);
      if (bucket === undefined) return [];
      const bucketResource = one("AWS::S3::Bucket", `arn:aws:s3:::${bucket}`);
      if (context.eventName === "ListObjects") {
        // A listing names the objects it may return by prefix, as CloudTrail does:
        // `{"type": "AWS::S3::Object", "ARNPrefix": "arn:aws:s3:::<bucket>/<prefix>"}`.
        const prefix = typeof request["prefix"] === "string" ? request["prefix"] : "";
        return [{ type: "AWS::S3::Object", ARNPrefix: `arn:aws:s3:::${bucket}/${prefix}` }, ...bucketResource];
      }
      if (context.objectKey === undefined) return bucketResource;
      // S3 names the object without an account (objects have no owner account in their ARN).
      return [{ type: "AWS::S3::Object", ARN: `arn:aws:s3:::${bucket}/${context.objectKey}` }, ...bucketResource];
    }
    case "lambda.amazonaws.com": {
      const name = text(request["functionName"]);
      if (name === undefined) return [];
      const arn = name.startsWith("arn:") ? name : `arn:aws:lambda:${region}:${accountId}:function:${name}`;
      return one("AWS::Lambda::Function", arn);
    }
    case "dynamodb.amazonaws.com": {
      const table = text(request["tableName"]);
      return table === undefined
        ? []
        : one("AWS::DynamoDB::Table", `arn:aws:dynamodb:${region}:${accountId}:table/${table}`);
    }
    default:
      return [];
  }
}
