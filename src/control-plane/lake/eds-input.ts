/** Shared input parsing and output shapes for the Lake operations. */
import { ApiError } from "../../lib/api-error.js";
import { optionalString } from "../input.js";
import { isPlainObject } from "../../lib/plain-object.js";
import type { OperationContext, OperationHandler } from "../operation.js";
import { validateAdvancedEventSelectors } from "../../selectors/advanced-selectors.js";
import { InvalidEventSelectorsError, SelectorShapeError } from "../../selectors/selector-errors.js";
import type { AdvancedEventSelector } from "../../selectors/selector-types.js";
import type { EventDataStore, LakeCatalog } from "../../lake/catalog/index.js";

/** Runs tasks one at a time, in call order. */
export type Turns = <T>(task: () => Promise<T>) => Promise<T>;

export interface LakeOperationDeps {
  readonly catalog: LakeCatalog;
  /** Called after every control-plane write (recompiles the store router). */
  readonly onChange: () => Promise<void>;
  /** Journal.latestSeq: a new store takes only what is journaled after it, on whichever node. */
  readonly journalHeadSeq: () => Promise<number>;
  readonly hasOngoingImport: (edsId: string) => Promise<boolean>;
  /** The caller's store named by `EventDataStore` (id or ARN); rejects with the modelled errors. */
  readonly resolve: (
    input: Record<string, unknown>,
    context: OperationContext,
    member?: string,
  ) => Promise<EventDataStore>;
  /**
   * The turns of the control-plane writes that check before they write (unique names, limits, a
   * store's channels and imports, read-modify-write of a document): no other write comes between a
   * check and its write.
   */
  readonly writeTurns: Turns;
}

/** A fresh turn queue: each task starts once the one before has settled. */
export function createTurns(): Turns {
  let last: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const result = last.then(task);
    last = result.catch(() => undefined);
    return result;
  };
}

/** The handler, run in the write turns. */
export function inWriteTurn(deps: Pick<LakeOperationDeps, "writeTurns">, handler: OperationHandler): OperationHandler {
  return (input, context) => deps.writeTurns(() => handler(input, context));
}

/** Spec §7.1: the selector used when CreateEventDataStore gets none. */
const DEFAULT_EDS_SELECTORS: AdvancedEventSelector[] = [
  { Name: "Default management events", FieldSelectors: [{ Field: "eventCategory", Equals: ["Management"] }] },
];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EDS_ARN = /^arn:aws:cloudtrail:([a-z0-9-]+):(\d{12}):eventdatastore\/(.+)$/;

export function optionalBoolean(input: Record<string, unknown>, member: string): boolean | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw new ApiError("SerializationException", `Member '${member}' must be a boolean.`);
  return value;
}

export function parseSelectors(value: unknown): AdvancedEventSelector[] {
  if (value === undefined || value === null) return DEFAULT_EDS_SELECTORS;
  try {
    return validateAdvancedEventSelectors(value, "eventDataStore");
  } catch (error) {
    if (error instanceof InvalidEventSelectorsError)
      throw new ApiError("InvalidEventSelectorsException", error.message);
    if (error instanceof SelectorShapeError) throw new ApiError("SerializationException", error.message);
    throw error;
  }
}

export function parseTags(value: unknown): Array<{ Key: string; Value?: string }> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ApiError("SerializationException", "Member 'TagsList' must be a list.");
  if (value.length > 200) throw new ApiError("InvalidTagParameterException", "TagsList holds at most 200 tags.");
  return value.map((tag: unknown, i) => {
    const key = isPlainObject(tag) ? tag["Key"] : undefined;
    const tagValue = isPlainObject(tag) ? tag["Value"] : undefined;
    if (typeof key !== "string" || key.length < 1 || key.length > 128)
      throw new ApiError("InvalidTagParameterException", `TagsList[${i}].Key must be 1-128 characters.`);
    if (tagValue !== undefined && tagValue !== null && (typeof tagValue !== "string" || tagValue.length > 256))
      throw new ApiError("InvalidTagParameterException", `TagsList[${i}].Value must be at most 256 characters.`);
    return typeof tagValue === "string" ? { Key: key, Value: tagValue } : { Key: key };
  });
}

/** The store id an `EventDataStore` value names: a bare id or an ARN whose suffix is one. */
function storeIdOf(value: string): string {
  const arn = EDS_ARN.exec(value);
  const id = arn ? arn[3]! : value;
  if (!UUID.test(id) || (value.startsWith("arn:") && !arn))
    throw new ApiError(
      "EventDataStoreARNInvalidException",
      `The value ${value} is not a valid event data store ARN or id.`,
    );
  return id.toLowerCase();
}

export function makeResolver(catalog: LakeCatalog): LakeOperationDeps["resolve"] {
  return async (input, context, member = "EventDataStore") => {
    const value = optionalString(input, member);
    if (value === undefined) throw new ApiError("InvalidParameterException", `${member} is required.`);
    const store = await catalog.store(storeIdOf(value));
    if (store === undefined || store.accountId !== context.accountId)
      throw new ApiError("EventDataStoreNotFoundException", `The specified event data store ${value} was not found.`);
    return store;
  };
}

export function requireActive(store: EventDataStore): EventDataStore {
  if (store.status === "PENDING_DELETION")
    throw new ApiError("InactiveEventDataStoreException", `Event data store ${store.arn} is pending deletion.`);
  return store;
}

const seconds = (ms: number): number => ms / 1000;

export function edsView(store: EventDataStore): Record<string, unknown> {
  return {
    EventDataStoreArn: store.arn,
    Name: store.name,
    Status: store.status,
    AdvancedEventSelectors: store.advancedEventSelectors,
    MultiRegionEnabled: store.multiRegionEnabled,
    OrganizationEnabled: store.organizationEnabled,
    BillingMode: store.billingMode,
    RetentionPeriod: store.retentionPeriod,
    TerminationProtectionEnabled: store.terminationProtectionEnabled,
    CreatedTimestamp: seconds(store.createdMs),
    UpdatedTimestamp: seconds(store.updatedMs),
  };
}

export function listView(store: EventDataStore): Record<string, unknown> {
  const { BillingMode: _billing, ...rest } = edsView(store);
  return rest;
}
