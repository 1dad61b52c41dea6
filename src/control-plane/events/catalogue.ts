/**
 * The operations of the EventBridge API (botocore `events` 2015-10-07, JSON 1.1, target prefix
 * `AWSEvents`). A call naming one Cairn does not serve yet is answered as such, not as an unknown
 * operation; the record of every call carries the name it asked for.
 */
const EVENTS_OPERATIONS = new Set([
  "ActivateEventSource",
  "CancelReplay",
  "CreateApiDestination",
  "CreateArchive",
  "CreateConnection",
  "CreateEndpoint",
  "CreateEventBus",
  "CreatePartnerEventSource",
  "DeactivateEventSource",
  "DeauthorizeConnection",
  "DeleteApiDestination",
  "DeleteArchive",
  "DeleteConnection",
  "DeleteEndpoint",
  "DeleteEventBus",
  "DeletePartnerEventSource",
  "DeleteRule",
  "DescribeApiDestination",
  "DescribeArchive",
  "DescribeConnection",
  "DescribeEndpoint",
  "DescribeEventBus",
  "DescribeEventSource",
  "DescribePartnerEventSource",
  "DescribeReplay",
  "DescribeRule",
  "DisableRule",
  "EnableRule",
  "ListApiDestinations",
  "ListArchives",
  "ListConnections",
  "ListEndpoints",
  "ListEventBuses",
  "ListEventSources",
  "ListPartnerEventSourceAccounts",
  "ListPartnerEventSources",
  "ListReplays",
  "ListRuleDeliveryFailures", // Cairn's own: the events rule delivery gave up on
  "ListRuleNamesByTarget",
  "ListRules",
  "ListTagsForResource",
  "ListTargetsByRule",
  "PutEvents",
  "PutPartnerEvents",
  "PutPermission",
  "PutRule",
  "PutTargets",
  "RemovePermission",
  "RemoveTargets",
  "StartReplay",
  "TagResource",
  "TestEventPattern",
  "UntagResource",
  "UpdateApiDestination",
  "UpdateArchive",
  "UpdateConnection",
  "UpdateEndpoint",
  "UpdateEventBus",
]);

export function isEventsOperation(name: string): boolean {
  return EVENTS_OPERATIONS.has(name);
}

/**
 * Whether a call only reads (the record's `readOnly`): EventBridge's Describe*, List* and
 * TestEventPattern, which CloudTrail logs as read-only.
 */
export function isReadOnlyEventsOperation(name: string): boolean {
  return /^(Describe|List)/.test(name) || name === "TestEventPattern";
}
