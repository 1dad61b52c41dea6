import { ApiError } from "../../lib/api-error.js";
import { toLowerCamelKeys } from "../../normalize/lower-camel.js";
import type { EventConnection, EventRuleStore, EventScope } from "../../stores/event-rules/index.js";
import type { RuleDeliveryStore } from "../../stores/rule-deliveries/index.js";
import type { CallScope } from "../authorization.js";
import type { OperationContext, OperationHandler, OperationResult } from "../operation.js";
import { NAME_SHAPE, optionalString, requiredString } from "./events-input.js";

/** An EventBridge operation and what it is authorised on (`events:<Operation>` on each resource). */
export interface EventsOperation {
  readonly run: OperationHandler;
  /** The ARNs the call names in the caller's account and region, or `*` when it names none. */
  readonly resources: (input: Record<string, unknown>, scope: CallScope) => string[];
}

/** What the rule, connection and API-destination operations need from the rest of Cairn. */
export interface EventsDependencies {
  readonly store: EventRuleStore;
  /** A fresh UUID for a connection's or API destination's ARN. */
  readonly newId: () => string;
  /**
   * Starts authorizing an OAuth connection just created or given new auth (AUTHORIZING): its first
   * token request, which sets it AUTHORIZED or DEAUTHORIZED. Not awaited, as EventBridge answers first.
   */
  readonly authorizeConnection?: (connection: EventConnection) => void;
  /** The failures rule delivery kept, for ListRuleDeliveryFailures. */
  readonly failures?: Pick<RuleDeliveryStore, "listFailures">;
}

/** Names no resource: the service authorization reference lists none for the action. */
export const NO_RESOURCE = (): string[] => ["*"];

/** The ARN of a resource of the caller's named by `member` (`rule/<name>`…), or `*` when the member is not a name. */
export function namedResource(kind: string, member: string) {
  return (input: Record<string, unknown>, scope: CallScope): string[] => {
    const name = input[member];
    return typeof name === "string" && NAME_SHAPE.pattern!.test(name) ? [resourceArn(scope, kind, name)] : ["*"];
  };
}

export function resourceArn(scope: EventScope, kind: string, name: string): string {
  return `arn:aws:events:${scope.region}:${scope.accountId}:${kind}/${name}`;
}

export function scopeOf(context: OperationContext): EventScope {
  return { accountId: context.accountId, region: context.region };
}

/** A mutating call's answer; CloudTrail logs its output as responseElements, members in lower camel case. */
export function written(output: Record<string, unknown>): OperationResult {
  const empty = Object.keys(output).length === 0;
  return { output, responseElements: empty ? null : (toLowerCamelKeys(output) as Record<string, unknown>) };
}

export function read(output: Record<string, unknown>): OperationResult {
  return { output };
}

/**
 * Only the default event bus exists on Cairn: `EventBusName` absent, `default`, or the caller's
 * default bus ARN. Any other bus is not found, as EventBridge answers for a bus it has not.
 */
export function assertDefaultBus(input: Record<string, unknown>, scope: EventScope): void {
  const bus = optionalString(input, "EventBusName", { min: 1, max: 1600 });
  if (
    bus === undefined ||
    bus === "default" ||
    bus === `arn:aws:events:${scope.region}:${scope.accountId}:event-bus/default`
  ) {
    return;
  }
  const name = bus.startsWith("arn:") ? bus.slice(bus.indexOf("event-bus/") + "event-bus/".length) : bus;
  throw new ApiError("ResourceNotFoundException", `Event bus ${name.slice(0, 256)} does not exist.`);
}

/** The `Name` (or `member`) of a rule, connection or API destination, checked as the model checks it. */
export function nameOf(input: Record<string, unknown>, member = "Name"): string {
  return requiredString(input, member, NAME_SHAPE);
}

/** EventBridge's answer when a named rule is not on the default bus. */
export function ruleNotFound(name: string): ApiError {
  return new ApiError("ResourceNotFoundException", `Rule ${name} does not exist on EventBus default.`);
}

/** The one answer EventBridge gives when a quota would be passed. */
export function limitExceeded(): ApiError {
  return new ApiError("LimitExceededException", "The requested resource exceeds the maximum number allowed.");
}

/** An operation's handler, given the dependencies when the operations are built. */
export type EventsHandler = (
  deps: EventsDependencies,
  input: Record<string, unknown>,
  context: OperationContext,
) => Promise<OperationResult>;

export function bound(
  deps: EventsDependencies,
  handler: EventsHandler,
  resources: EventsOperation["resources"],
): EventsOperation {
  return { run: (input, context) => handler(deps, input, context), resources };
}
