/**
 * Data events of captured calls: whether a call is one (normalize's `DATA_EVENT_APIS`, the table
 * ingest also classifies by) and the `resources` CloudTrail writes for it, per resource type. One
 * builder per type of the table, so a type added there does not compile until it has one here.
 */
import type { RecordResource } from "../../model/record.js";
import { dataEventApiOf, type DataResourceType } from "../../normalize/data-event-apis.js";

export interface DataEventContext {
  readonly eventSource: string;
  readonly eventName: string;
  readonly region: string;
  readonly accountId: string;
  readonly requestParameters: Record<string, unknown> | null;
  /** S3: the object key of an object-level call. */
  readonly objectKey?: string;
  /** The SigV4 scope's service, for the services whose every call is a data event (ssmmessages). */
  readonly signingService?: string;
}

/** Whether CloudTrail logs the call as a data event (`eventCategory: Data`, `managementEvent: false`). */
export function isDataEventCall(eventSource: string, eventName: string, signingService?: string): boolean {
  return dataEventApiOf(eventSource, eventName, signingService) !== undefined;
}

/** The data event's resources; undefined for a management event (its resources are classify.ts's). */
export function dataEventResources(context: DataEventContext): RecordResource[] | undefined {
  const entry = dataEventApiOf(context.eventSource, context.eventName, context.signingService);
  return entry === undefined ? undefined : RESOURCE_BUILDERS[entry.resourceType](context);
}

type Builder = (context: DataEventContext) => RecordResource[];

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function resource(context: DataEventContext, type: string, arn: string): RecordResource {
  return { accountId: context.accountId, type, ARN: arn };
}

/** The instance id a managed-node call names: RequestManagedInstanceRoleToken's fingerprint, GetMessages' destination, or the `aws.ssm.<command>.<instance>` message id. */
function managedNodeId(request: Record<string, unknown>): string | undefined {
  const named = text(request["fingerprint"]) ?? text(request["destination"]);
  const messageId = text(request["messageId"]);
  const candidate = named ?? messageId?.slice(messageId.lastIndexOf(".") + 1);
  return candidate !== undefined && /^m?i-[0-9a-zA-Z]{1,40}$/.test(candidate) ? candidate : undefined;
}

/** `https://sqs.<region>.amazonaws.com/<account>/<queue>` (or any host, such as a local emulator's). */
function sqsQueueArn(context: DataEventContext, queueUrl: string): string | undefined {
  let segments: string[];
  try {
    segments = new URL(queueUrl).pathname.split("/").filter((part) => part !== "");
  } catch {
    return undefined;
  }
  const [account, queue] = segments.length === 2 ? segments : [];
  if (account === undefined || queue === undefined) return undefined;
  const accountId = /^\d{12}$/.test(account) ? account : context.accountId;
  return `arn:aws:sqs:${context.region}:${accountId}:${queue}`;
}

/** DynamoDB names its table once (`tableName`) or per entry (`requestItems` keys of the batch calls). */
function dynamoDbTables(request: Record<string, unknown>): string[] {
  const single = text(request["tableName"]);
  const items = request["requestItems"];
  const batch = typeof items === "object" && items !== null && !Array.isArray(items) ? Object.keys(items) : [];
  return [...new Set([...(single === undefined ? [] : [single]), ...batch])];
}

const RESOURCE_BUILDERS: Readonly<Record<DataResourceType, Builder>> = {
  "AWS::S3::Object": (context) => {
    const request = context.requestParameters ?? {};
    const bucket = text(request["bucketName"]);
    if (bucket === undefined) return [];
    const bucketResource = resource(context, "AWS::S3::Bucket", `arn:aws:s3:::${bucket}`);
    if (context.eventName === "ListObjects") {
      // A listing names the objects it may return by prefix, as CloudTrail does:
      // `{"type": "AWS::S3::Object", "ARNPrefix": "arn:aws:s3:::<bucket>/<prefix>"}`.
      const prefix = typeof request["prefix"] === "string" ? request["prefix"] : "";
      return [{ type: "AWS::S3::Object", ARNPrefix: `arn:aws:s3:::${bucket}/${prefix}` }, bucketResource];
    }
    if (context.objectKey === undefined) return [bucketResource];
    // S3 names the object without an account (objects have no owner account in their ARN).
    return [{ type: "AWS::S3::Object", ARN: `arn:aws:s3:::${bucket}/${context.objectKey}` }, bucketResource];
  },
  "AWS::Lambda::Function": (context) => {
    const name = text(context.requestParameters?.["functionName"]);
    if (name === undefined) return [];
    const arn = name.startsWith("arn:")
      ? name
      : `arn:aws:lambda:${context.region}:${context.accountId}:function:${name}`;
    return [resource(context, "AWS::Lambda::Function", arn)];
  },
  "AWS::DynamoDB::Table": (context) =>
    dynamoDbTables(context.requestParameters ?? {}).map((table) =>
      resource(
        context,
        "AWS::DynamoDB::Table",
        `arn:aws:dynamodb:${context.region}:${context.accountId}:table/${table}`,
      ),
    ),
  "AWS::DynamoDB::Stream": (context) => {
    const arn = text(context.requestParameters?.["streamArn"]);
    return arn === undefined ? [] : [resource(context, "AWS::DynamoDB::Stream", arn)];
  },
  "AWS::SNS::Topic": (context) => {
    const request = context.requestParameters ?? {};
    const topic = text(request["topicArn"]);
    if (topic !== undefined) return [resource(context, "AWS::SNS::Topic", topic)];
    // Publish to a mobile endpoint names it as targetArn (`…:endpoint/<platform>/<app>/<id>`).
    const target = text(request["targetArn"]);
    if (target === undefined) return [];
    const type = target.includes(":endpoint/") ? "AWS::SNS::PlatformEndpoint" : "AWS::SNS::Topic";
    return [resource(context, type, target)];
  },
  "AWS::SQS::Queue": (context) => {
    const url = text(context.requestParameters?.["queueUrl"]);
    const arn = url === undefined ? undefined : sqsQueueArn(context, url);
    return arn === undefined ? [] : [resource(context, "AWS::SQS::Queue", arn)];
  },
  "AWS::SSMMessages::ControlChannel": (context) => {
    const channelId = text(context.requestParameters?.["channelId"]);
    if (channelId === undefined) return [];
    const kind = context.eventName.includes("DataChannel") ? "data-channel" : "control-channel";
    const arn = `arn:aws:ssmmessages:${context.region}:${context.accountId}:${kind}/${channelId}`;
    return [resource(context, "AWS::SSMMessages::ControlChannel", arn)];
  },
  "AWS::SSM::ManagedNode": (context) => {
    const id = managedNodeId(context.requestParameters ?? {});
    if (id === undefined) return [];
    // EC2 instances are named by their EC2 ARN; hybrid nodes (`mi-…`) by SSM's managed-instance ARN.
    const arn = id.startsWith("mi-")
      ? `arn:aws:ssm:${context.region}:${context.accountId}:managed-instance/${id}`
      : `arn:aws:ec2:${context.region}:${context.accountId}:instance/${id}`;
    return [resource(context, "AWS::SSM::ManagedNode", arn)];
  },
};
