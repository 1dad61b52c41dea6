/**
 * The IAM action and resources each CloudTrail operation is authorised against, after the service
 * authorisation reference: `cloudtrail:<Operation>` on the trail, event data store or channel it names
 * (an id or name becomes the ARN in the caller's account and region), `*` where it names none.
 */
export interface CallScope {
  readonly accountId: string;
  readonly region: string;
}

type ResourceKind = "trail" | "eventdatastore" | "channel" | "dashboard";

const NAMED_BY: Record<string, { member: string; kind: ResourceKind }> = {
  CreateTrail: { member: "Name", kind: "trail" },
  DeleteTrail: { member: "Name", kind: "trail" },
  GetTrail: { member: "Name", kind: "trail" },
  GetTrailStatus: { member: "Name", kind: "trail" },
  StartLogging: { member: "Name", kind: "trail" },
  StopLogging: { member: "Name", kind: "trail" },
  UpdateTrail: { member: "Name", kind: "trail" },
  GetEventSelectors: { member: "TrailName", kind: "trail" },
  PutEventSelectors: { member: "TrailName", kind: "trail" },
  GetInsightSelectors: { member: "TrailName", kind: "trail" },
  PutInsightSelectors: { member: "TrailName", kind: "trail" },
  ListInsightsMetricData: { member: "TrailName", kind: "trail" },
  ListInsightsData: { member: "InsightSource", kind: "trail" },
  GetEventDataStore: { member: "EventDataStore", kind: "eventdatastore" },
  UpdateEventDataStore: { member: "EventDataStore", kind: "eventdatastore" },
  DeleteEventDataStore: { member: "EventDataStore", kind: "eventdatastore" },
  RestoreEventDataStore: { member: "EventDataStore", kind: "eventdatastore" },
  StartEventDataStoreIngestion: { member: "EventDataStore", kind: "eventdatastore" },
  StopEventDataStoreIngestion: { member: "EventDataStore", kind: "eventdatastore" },
  EnableFederation: { member: "EventDataStore", kind: "eventdatastore" },
  DisableFederation: { member: "EventDataStore", kind: "eventdatastore" },
  DescribeQuery: { member: "EventDataStore", kind: "eventdatastore" },
  GetQueryResults: { member: "EventDataStore", kind: "eventdatastore" },
  CancelQuery: { member: "EventDataStore", kind: "eventdatastore" },
  ListQueries: { member: "EventDataStore", kind: "eventdatastore" },
  GetChannel: { member: "Channel", kind: "channel" },
  UpdateChannel: { member: "Channel", kind: "channel" },
  DeleteChannel: { member: "Channel", kind: "channel" },
  GetDashboard: { member: "DashboardId", kind: "dashboard" },
  UpdateDashboard: { member: "DashboardId", kind: "dashboard" },
  DeleteDashboard: { member: "DashboardId", kind: "dashboard" },
  CreateDashboard: { member: "Name", kind: "dashboard" },
};

/** Creations whose resource id is not known before the call: the kind's wildcard. */
const CREATES: Record<string, ResourceKind> = { CreateEventDataStore: "eventdatastore", CreateChannel: "channel" };

function arnOf(scope: CallScope, kind: ResourceKind, idOrArn: string): string {
  return idOrArn.startsWith("arn:")
    ? idOrArn
    : `arn:aws:cloudtrail:${scope.region}:${scope.accountId}:${kind}/${idOrArn}`;
}

function strings(value: unknown): string[] {
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  return list.filter((item): item is string => typeof item === "string" && item !== "");
}

/** The event data store a Lake SQL statement reads (`FROM <id or ARN>`), when it names one. */
function storeOfStatement(statement: unknown): string | undefined {
  if (typeof statement !== "string") return undefined;
  return /\bFROM\s+"?((?:arn:aws:cloudtrail:[^\s"]+)|[0-9a-f-]{36})/i.exec(statement)?.[1];
}

function taggedResources(operation: string, input: Record<string, unknown>): string[] | undefined {
  if (operation === "AddTags" || operation === "RemoveTags") return strings(input["ResourceId"]);
  if (operation === "ListTags") return strings(input["ResourceIdList"]);
  if (operation.endsWith("ResourcePolicy")) return strings(input["ResourceArn"]);
  if (operation === "StartImport") return strings(input["Destinations"]);
  return undefined;
}

/** The resources (one or more ARNs, or `*`) a call of `operation` with `input` is authorised on. */
export function cloudTrailResources(operation: string, input: Record<string, unknown>, scope: CallScope): string[] {
  // A retry names only the import: its handler authorises the call on the import's event data
  // store, which only the catalog knows (import-operations.ts).
  if (operation === "StartImport" && input["ImportId"] !== undefined) return [];
  // Insight selectors of an event data store (spec §8.1) are authorised on the store.
  if (
    operation.endsWith("InsightSelectors") &&
    input["EventDataStore"] !== undefined &&
    input["TrailName"] === undefined
  ) {
    const store = strings(input["EventDataStore"])[0];
    if (store !== undefined) return [arnOf(scope, "eventdatastore", store)];
  }
  const named = NAMED_BY[operation];
  if (named !== undefined) {
    const value = strings(input[named.member])[0];
    if (value !== undefined) return [arnOf(scope, named.kind, value)];
  }
  if (operation === "StartQuery") {
    const store = storeOfStatement(input["QueryStatement"]) ?? strings(input["EventDataStore"])[0];
    if (store !== undefined) return [arnOf(scope, "eventdatastore", store)];
    // A store named by its Name (a Cairn extension) is known once resolved: the handler authorises
    // the call on every store the statement reads (query-operations.ts). No statement: `*`, below.
    const statement = input["QueryStatement"];
    if (typeof statement === "string" && statement.trim() !== "") return [];
  }
  const create = CREATES[operation];
  if (create !== undefined) return [arnOf(scope, create, "*")];
  const tagged = taggedResources(operation, input);
  return tagged !== undefined && tagged.length > 0 ? tagged : ["*"];
}
