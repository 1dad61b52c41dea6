/**
 * CloudTrail's per-call classification, which no service model states: readOnly and the `resources`
 * whose ARNs can be derived from the call. These are CloudTrail's conventions (spec §1.2, §1.6), kept
 * here as short rules rather than per-operation tables. Data events (which calls, their resources)
 * are data-events.ts's.
 */
import type { RecordResource } from "../../model/record.js";
import { dataEventResources } from "./data-events.js";

/** CloudTrail marks Describe*, Get*, List*… calls readOnly (and logs their responseElements as null). */
const READ_ONLY = /^(Describe|Get|List|Head|Lookup|Search|Query|Scan|BatchGet|Select|Check|Estimate|Preview)/;

/**
 * readOnly calls the naming rule misses. RequestManagedInstanceRoleToken: the SSM agent fetching its
 * role's credentials, `readOnly: true` in the Systems Manager CloudTrail page's example.
 */
const READ_ONLY_NAMES = new Set(["RequestManagedInstanceRoleToken"]);

export function isReadOnly(operation: string): boolean {
  return READ_ONLY.test(operation) || READ_ONLY_NAMES.has(operation);
}

export interface ResourceContext {
  readonly eventSource: string;
  readonly eventName: string;
  readonly region: string;
  readonly accountId: string;
  readonly requestParameters: Record<string, unknown> | null;
  readonly responseElements: Record<string, unknown> | null;
  readonly objectKey?: string;
  /** The SigV4 scope's service (data events of ssmmessages/ec2messages). */
  readonly signingService?: string;
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
  const data = dataEventResources(context);
  if (data) return data;
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
