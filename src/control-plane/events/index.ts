import { apiDestinationOperations } from "./api-destinations.js";
import { connectionOperations } from "./connections.js";
import { deliveryFailureOperations } from "./delivery-failures.js";
import { NO_RESOURCE, type EventsDependencies, type EventsOperation } from "./events-operation.js";
import { ruleOperations } from "./rules.js";
import { targetOperations } from "./targets.js";
import { testEventPattern } from "./test-event-pattern.js";

export { isEventsOperation, isReadOnlyEventsOperation } from "./catalogue.js";
export type { EventsDependencies, EventsOperation } from "./events-operation.js";

/**
 * The EventBridge operations Cairn serves, by name: TestEventPattern, and the rules, targets,
 * connections and API destinations kept in `deps.store` (docs/reference/events.md).
 */
export function eventsOperations(deps: EventsDependencies): ReadonlyMap<string, EventsOperation> {
  return new Map<string, EventsOperation>([
    ["TestEventPattern", { run: testEventPattern, resources: NO_RESOURCE }],
    ...Object.entries(ruleOperations(deps)),
    ...Object.entries(targetOperations(deps)),
    ...Object.entries(connectionOperations(deps)),
    ...Object.entries(apiDestinationOperations(deps)),
    ...Object.entries(deliveryFailureOperations(deps)),
  ]);
}
