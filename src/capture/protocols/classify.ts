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
  /** Failed SSM, STS and KMS calls carry no `resources` in real records (invictus-sigma-aws: throttled PutParameter, denied AssumeRole). */
  readonly errorCode?: string;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function member(parent: unknown, name: string): unknown {
  return typeof parent === "object" && parent !== null ? (parent as Record<string, unknown>)[name] : undefined;
}

/** The account in an ARN (`arn:aws:iam::123:role/x` → 123), or undefined. */
function arnAccount(arn: string): string | undefined {
  const parts = arn.split(":", 5);
  return parts.length === 5 && parts[4] !== "" ? parts[4] : undefined;
}

/**
 * SSM operations CloudTrail writes `resources` for, and the request member naming each: untyped
 * `{accountId, ARN}` entries (invictus-sigma-aws GetParameter(s)/PutParameter/DeleteParameter and the
 * agent's calls; the seed DeleteDocument). GetDocument, SendCommand, DescribeParameters… carry none.
 */
const SSM_RESOURCES: ReadonlyMap<string, ReadonlyArray<readonly [member: string, arnResource: string]>> = new Map([
  ["GetParameter", [["name", "ssm:parameter/"]]],
  ["PutParameter", [["name", "ssm:parameter/"]]],
  ["DeleteParameter", [["name", "ssm:parameter/"]]],
  ["GetParameters", [["names", "ssm:parameter/"]]],
  ["DeleteParameters", [["names", "ssm:parameter/"]]],
  ["DeleteDocument", [["name", "ssm:document/"]]],
  ["ListInstanceAssociations", [["instanceId", "ec2:instance/"]]],
  [
    "PutInventory",
    [
      ["instanceId", "ec2:instance/"],
      ["instanceId", "ssm:managed-instance-inventory/"],
    ],
  ],
  [
    "UpdateInstanceAssociationStatus",
    [
      ["associationId", "ssm:association/"],
      ["instanceId", "ec2:instance/"],
    ],
  ],
]);

function ssmResources(context: ResourceContext, request: Record<string, unknown>): RecordResource[] {
  const { region, accountId } = context;
  const out: RecordResource[] = [];
  for (const [name, arnResource] of SSM_RESOURCES.get(context.eventName) ?? []) {
    const value = request[name];
    const [service, prefix] = arnResource.split(":") as [string, string];
    for (const id of Array.isArray(value) ? value : [value]) {
      // A parameter's ARN drops the leading "/" of a hierarchical name (`/a/b` → `parameter/a/b`).
      const resource = typeof id === "string" && id !== "" ? id.replace(/^\//, "") : undefined;
      if (resource !== undefined)
        out.push({ accountId, ARN: `arn:aws:${service}:${region}:${accountId}:${prefix}${resource}` });
    }
  }
  return out;
}

/** STS: the assumed role (and, for SAML, the provider), typed and owned by their own account. */
function stsResources(context: ResourceContext, request: Record<string, unknown>): RecordResource[] {
  if (!context.eventName.startsWith("AssumeRole")) return [];
  const out: RecordResource[] = [];
  for (const [name, type] of [
    ["roleArn", "AWS::IAM::Role"],
    ["principalArn", "AWS::IAM::SAMLProvider"],
  ] as const) {
    const arn = text(request[name]);
    if (arn !== undefined) out.push({ accountId: arnAccount(arn) ?? context.accountId, type, ARN: arn });
  }
  return out;
}

/** KMS: the key the call used, as its ARN: the response's (it resolves aliases), else the request's key id. */
function kmsResources(
  context: ResourceContext,
  request: Record<string, unknown>,
  response: Record<string, unknown>,
): RecordResource[] {
  const { region, accountId } = context;
  const fromResponse = text(response["keyId"]) ?? text(member(response["keyMetadata"], "arn"));
  const requested = text(request["keyId"]);
  let arn = fromResponse?.includes(":key/") ? fromResponse : undefined;
  if (arn === undefined && requested !== undefined && !requested.includes("alias/")) {
    arn = requested.startsWith("arn:") ? requested : `arn:aws:kms:${region}:${accountId}:key/${requested}`;
  }
  return arn === undefined ? [] : [{ accountId: arnAccount(arn) ?? accountId, type: "AWS::KMS::Key", ARN: arn }];
}

/**
 * The `resources` member CloudTrail writes, per service, as real records show it (invictus-sigma-aws,
 * one real account; the seed examples): S3 bucket calls (CreateBucket aside, failed calls included),
 * KMS keys, STS AssumeRole* roles, some SSM operations, DynamoDB tables, Lambda Invoke. EC2, RDS,
 * ElastiCache, IAM, Lambda management calls, Secrets Manager, CloudTrail itself: none. Event history
 * still lists their resources: it derives them (src/consumers/event-history/resource-rules.ts).
 */
export function resourcesOf(context: ResourceContext): RecordResource[] {
  const data = dataEventResources(context);
  if (data) return data;
  const { region, accountId } = context;
  const request = context.requestParameters ?? {};
  const response = context.responseElements ?? {};
  const one = (type: string, arn: string): RecordResource[] => [{ accountId, type, ARN: arn }];
  const failed = context.errorCode !== undefined;
  switch (context.eventSource) {
    case "ssm.amazonaws.com":
      return failed ? [] : ssmResources(context, request);
    case "sts.amazonaws.com":
      return failed ? [] : stsResources(context, request);
    case "kms.amazonaws.com":
      return failed ? [] : kmsResources(context, request, response);
    case "s3.amazonaws.com": {
      const bucket = text(request["bucketName"]);
      // CreateBucket records name no resource (invictus-sigma-aws: 5 of 5); every other bucket call does.
      if (bucket === undefined || context.eventName === "CreateBucket") return [];
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
      // Only Invoke (a data event) names the function; management calls carry none (invictus-sigma-aws).
      const name = context.eventName.startsWith("Invoke") ? text(request["functionName"]) : undefined;
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
