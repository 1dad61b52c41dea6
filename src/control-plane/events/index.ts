import type { CallScope } from "../authorization.js";
import type { OperationHandler } from "../operation.js";
import { testEventPattern } from "./test-event-pattern.js";

export { isEventsOperation, isReadOnlyEventsOperation } from "./catalogue.js";

/** An EventBridge operation and what it is authorised on (`events:<Operation>` on each resource). */
export interface EventsOperation {
  readonly run: OperationHandler;
  /** The ARNs the call names in the caller's account and region, or `*` when it names none. */
  readonly resources: (input: Record<string, unknown>, scope: CallScope) => string[];
}

/** Names no resource: the service authorization reference lists none for the action. */
const NO_RESOURCE = (): string[] => ["*"];

/** The EventBridge operations Cairn serves, by name. */
export function eventsOperations(): ReadonlyMap<string, EventsOperation> {
  return new Map<string, EventsOperation>([["TestEventPattern", { run: testEventPattern, resources: NO_RESOURCE }]]);
}
