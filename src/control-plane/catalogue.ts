/**
 * Every operation of the CloudTrail 2013-11-01 model (spec §5.2). A name outside this list is an
 * UnknownOperationException; a listed name Cairn does not serve yet is an UnsupportedOperationException.
 */
export const CLOUDTRAIL_OPERATIONS = [
  "AddTags",
  "CancelQuery",
  "CreateChannel",
  "CreateDashboard",
  "CreateEventDataStore",
  "CreateTrail",
  "DeleteChannel",
  "DeleteDashboard",
  "DeleteEventDataStore",
  "DeleteResourcePolicy",
  "DeleteTrail",
  "DeregisterOrganizationDelegatedAdmin",
  "DescribeQuery",
  "DescribeTrails",
  "DisableFederation",
  "EnableFederation",
  "GenerateQuery",
  "GetChannel",
  "GetDashboard",
  "GetEventConfiguration",
  "GetEventDataStore",
  "GetEventSelectors",
  "GetImport",
  "GetInsightSelectors",
  "GetQueryResults",
  "GetResourcePolicy",
  "GetTrail",
  "GetTrailStatus",
  "ListChannels",
  "ListDashboards",
  "ListEventDataStores",
  "ListImportFailures",
  "ListImports",
  "ListInsightsData",
  "ListInsightsMetricData",
  "ListPublicKeys",
  "ListQueries",
  "ListTags",
  "ListTrails",
  "LookupEvents",
  "PutEventConfiguration",
  "PutEventSelectors",
  "PutInsightSelectors",
  "PutResourcePolicy",
  "RegisterOrganizationDelegatedAdmin",
  "RemoveTags",
  "RestoreEventDataStore",
  "SearchSampleQueries",
  "StartDashboardRefresh",
  "StartEventDataStoreIngestion",
  "StartImport",
  "StartLogging",
  "StartQuery",
  "StopEventDataStoreIngestion",
  "StopImport",
  "StopLogging",
  "UpdateChannel",
  "UpdateDashboard",
  "UpdateEventDataStore",
  "UpdateTrail",
] as const;

/**
 * Cairn's own operations on the CloudTrail endpoint, in its namespace (`cloudtrail:<Operation>`):
 * saved Lake queries (docs/reference/lake.md, "Saved queries"). AWS has no such operations.
 */
const CAIRN_EXTENSION_OPERATIONS = ["PutSavedQuery", "ListSavedQueries", "DeleteSavedQuery"] as const;

const OPERATION_SET: ReadonlySet<string> = new Set([...CLOUDTRAIL_OPERATIONS, ...CAIRN_EXTENSION_OPERATIONS]);

export function isCloudTrailOperation(name: string): boolean {
  return OPERATION_SET.has(name);
}

/** Read-only in CloudTrail's sense (responseElements null): Describe/Get/List/Lookup/Search calls. */
export function isReadOnlyOperation(name: string): boolean {
  return /^(Describe|Get|List|Lookup|Search)/.test(name);
}
