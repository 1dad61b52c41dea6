/**
 * Event data store control plane (spec §7.1): Create/Get/List/Update/Delete/Restore and
 * Start/StopEventDataStoreIngestion. Stores are scoped by account; names are unique per account
 * and region; a deleted store stays PENDING_DELETION for 7 days (lake-maintenance.ts purges it).
 */
import { randomUUID } from "node:crypto";
import { ApiError } from "../../lib/api-error.js";
import { optionalInteger, optionalString } from "../input.js";
import type { OperationContext, OperationHandler } from "../operation.js";
import { channelsSendingTo } from "./channel-operations.js";
import { storeCategory, type EventDataStore } from "../../lake/catalog/index.js";
import {
  edsView,
  inWriteTurn,
  listView,
  optionalBoolean,
  parseSelectors,
  parseTags,
  requireActive,
  type LakeOperationDeps,
} from "./eds-input.js";

const NAME = /^[a-zA-Z0-9._-]{3,128}$/;
const MAX_STORES = 10;
const BILLING_MODES = ["EXTENDABLE_RETENTION_PRICING", "FIXED_RETENTION_PRICING"];

function checkName(name: string | undefined): void {
  if (name !== undefined && !NAME.test(name))
    throw new ApiError(
      "InvalidParameterException",
      "Name must be 3-128 characters of letters, digits, '.', '_' or '-'.",
    );
}

function checkRetention(days: number | undefined): void {
  if (days !== undefined && (days < 7 || days > 3653))
    throw new ApiError("InvalidParameterException", "RetentionPeriod must be between 7 and 3653 days.");
}

function checkBilling(mode: string | undefined): void {
  if (mode !== undefined && !BILLING_MODES.includes(mode))
    throw new ApiError("InvalidParameterException", `BillingMode must be one of ${BILLING_MODES.join(", ")}.`);
}

async function nameTaken(
  deps: LakeOperationDeps,
  context: OperationContext,
  name: string,
  exceptId?: string,
): Promise<boolean> {
  return (await deps.catalog.stores(context.accountId)).some(
    (s) => s.name === name && s.region === context.region && s.id !== exceptId,
  );
}

async function liveStores(deps: LakeOperationDeps, context: OperationContext): Promise<EventDataStore[]> {
  return (await deps.catalog.stores(context.accountId)).filter((s) => s.status !== "PENDING_DELETION");
}

export function createEdsOperations(deps: LakeOperationDeps): Array<[string, OperationHandler]> {
  return [
    ["CreateEventDataStore", inWriteTurn(deps, createEventDataStoreOperation(deps))],
    ["GetEventDataStore", getEventDataStoreOperation(deps)],
    ["ListEventDataStores", listEventDataStoresOperation(deps)],
    ["UpdateEventDataStore", inWriteTurn(deps, updateEventDataStoreOperation(deps))],
    ["DeleteEventDataStore", inWriteTurn(deps, deleteEventDataStoreOperation(deps))],
    ["RestoreEventDataStore", inWriteTurn(deps, restoreEventDataStoreOperation(deps))],
    ["StartEventDataStoreIngestion", inWriteTurn(deps, ingestionOperation(deps, true))],
    ["StopEventDataStoreIngestion", inWriteTurn(deps, ingestionOperation(deps, false))],
  ];
}

async function saveStore(deps: LakeOperationDeps, store: EventDataStore): Promise<void> {
  await deps.catalog.putStore(store);
  await deps.onChange();
}

function createEventDataStoreOperation(deps: LakeOperationDeps): OperationHandler {
  return async (input, context) => {
    const name = optionalString(input, "Name");
    if (name === undefined) throw new ApiError("InvalidParameterException", "Name is required.");
    checkName(name);
    const retention = optionalInteger(input, "RetentionPeriod");
    checkRetention(retention);
    const billingMode = optionalString(input, "BillingMode") ?? "EXTENDABLE_RETENTION_PRICING";
    checkBilling(billingMode);
    if (await nameTaken(deps, context, name))
      throw new ApiError("EventDataStoreAlreadyExistsException", `An event data store named ${name} already exists.`);
    if ((await liveStores(deps, context)).length >= MAX_STORES)
      throw new ApiError(
        "EventDataStoreMaxLimitExceededException",
        `An account can have at most ${MAX_STORES} event data stores.`,
      );
    const id = randomUUID();
    const startIngestion = optionalBoolean(input, "StartIngestion") ?? true;
    const store: EventDataStore = {
      id,
      accountId: context.accountId,
      region: context.region,
      name,
      arn: `arn:aws:cloudtrail:${context.region}:${context.accountId}:eventdatastore/${id}`,
      status: startIngestion ? "ENABLED" : "STOPPED_INGESTION",
      advancedEventSelectors: parseSelectors(input["AdvancedEventSelectors"]),
      multiRegionEnabled: optionalBoolean(input, "MultiRegionEnabled") ?? true,
      organizationEnabled: optionalBoolean(input, "OrganizationEnabled") ?? false,
      retentionPeriod: retention ?? (billingMode === "FIXED_RETENTION_PRICING" ? 2557 : 366),
      terminationProtectionEnabled: optionalBoolean(input, "TerminationProtectionEnabled") ?? true,
      billingMode,
      tags: parseTags(input["TagsList"]),
      createdMs: context.nowMs,
      updatedMs: context.nowMs,
      fromSeq: await deps.journalHeadSeq(),
    };
    await saveStore(deps, store);
    // AWS answers CREATED once; the store is ENABLED from the next read on.
    const view = edsView(store);
    return {
      output: { ...view, Status: startIngestion ? "CREATED" : "STOPPED_INGESTION", TagsList: store.tags },
      responseElements: view,
      resources: [{ accountId: context.accountId, type: "AWS::CloudTrail::EventDataStore", ARN: store.arn }],
    };
  };
}

function getEventDataStoreOperation(deps: LakeOperationDeps): OperationHandler {
  return async (input, context) => {
    const store = await deps.resolve(input, context);
    return { output: { ...edsView(store), FederationStatus: "DISABLED" } };
  };
}

function listEventDataStoresOperation(deps: LakeOperationDeps): OperationHandler {
  return async (input, context) => {
    const max = optionalInteger(input, "MaxResults") ?? 1000;
    if (max < 1 || max > 1000)
      throw new ApiError("InvalidMaxResultsException", "MaxResults must be between 1 and 1000.");
    const token = optionalString(input, "NextToken");
    const all = (await deps.catalog.stores(context.accountId)).filter(
      (s) => s.region === context.region || s.multiRegionEnabled,
    );
    const start = token === undefined ? 0 : Number.parseInt(token.replace(/^eds-/, ""), 10);
    if (!Number.isInteger(start) || start < 0 || start > all.length)
      throw new ApiError("InvalidNextTokenException", "The NextToken is invalid.");
    const page = all.slice(start, start + max);
    const next = start + max < all.length ? { NextToken: `eds-${start + max}` } : {};
    return { output: { EventDataStores: page.map(listView), ...next } };
  };
}

function updateEventDataStoreOperation(deps: LakeOperationDeps): OperationHandler {
  return async (input, context) => {
    const store = requireActive(await deps.resolve(input, context));
    const members = ["Name", "AdvancedEventSelectors", "MultiRegionEnabled", "OrganizationEnabled", "RetentionPeriod"];
    members.push("TerminationProtectionEnabled", "KmsKeyId", "BillingMode");
    if (!members.some((m) => input[m] !== undefined && input[m] !== null))
      throw new ApiError("InvalidParameterException", "UpdateEventDataStore needs at least one setting to change.");
    const name = optionalString(input, "Name");
    checkName(name);
    if (name !== undefined && (await nameTaken(deps, context, name, store.id)))
      throw new ApiError("EventDataStoreAlreadyExistsException", `An event data store named ${name} already exists.`);
    const retention = optionalInteger(input, "RetentionPeriod");
    checkRetention(retention);
    const billingMode = optionalString(input, "BillingMode");
    checkBilling(billingMode);
    if (store.billingMode === "EXTENDABLE_RETENTION_PRICING" && billingMode === "FIXED_RETENTION_PRICING")
      throw new ApiError(
        "InvalidParameterException",
        "BillingMode cannot change from extendable to fixed retention pricing.",
      );
    const selectors = input["AdvancedEventSelectors"];
    const updated: EventDataStore = {
      ...store,
      ...(name !== undefined ? { name } : {}),
      ...(retention !== undefined ? { retentionPeriod: retention } : {}),
      ...(billingMode !== undefined ? { billingMode } : {}),
      ...(selectors !== undefined && selectors !== null ? { advancedEventSelectors: parseSelectors(selectors) } : {}),
      multiRegionEnabled: optionalBoolean(input, "MultiRegionEnabled") ?? store.multiRegionEnabled,
      organizationEnabled: optionalBoolean(input, "OrganizationEnabled") ?? store.organizationEnabled,
      terminationProtectionEnabled:
        optionalBoolean(input, "TerminationProtectionEnabled") ?? store.terminationProtectionEnabled,
      updatedMs: context.nowMs,
    };
    await saveStore(deps, updated);
    return { output: edsView(updated), responseElements: edsView(updated) };
  };
}

function deleteEventDataStoreOperation(deps: LakeOperationDeps): OperationHandler {
  return async (input, context) => {
    const store = requireActive(await deps.resolve(input, context));
    if (store.terminationProtectionEnabled)
      throw new ApiError(
        "EventDataStoreTerminationProtectedException",
        `Event data store ${store.arn} has termination protection enabled; disable it with UpdateEventDataStore first.`,
      );
    if (await deps.hasOngoingImport(store.id))
      throw new ApiError("EventDataStoreHasOngoingImportException", "The event data store has an import in progress.");
    const channels = await channelsSendingTo(deps.catalog, store);
    if (channels.length > 0)
      throw new ApiError(
        "ChannelExistsForEDSException",
        `Channel ${channels[0]!.arn} sends events to this event data store; delete it or change its destinations first.`,
      );
    await saveStore(deps, { ...store, status: "PENDING_DELETION", deletedMs: context.nowMs, updatedMs: context.nowMs });
    return { output: {}, responseElements: null };
  };
}

function restoreEventDataStoreOperation(deps: LakeOperationDeps): OperationHandler {
  return async (input, context) => {
    const store = await deps.resolve(input, context);
    if (store.status !== "PENDING_DELETION")
      throw new ApiError(
        "InvalidEventDataStoreStatusException",
        `Event data store ${store.arn} is not pending deletion.`,
      );
    if ((await liveStores(deps, context)).length >= MAX_STORES)
      throw new ApiError(
        "EventDataStoreMaxLimitExceededException",
        `An account can have at most ${MAX_STORES} event data stores.`,
      );
    const { deletedMs: _deleted, ...rest } = store;
    const restored: EventDataStore = { ...rest, status: "ENABLED", updatedMs: context.nowMs };
    await saveStore(deps, restored);
    return { output: edsView(restored), responseElements: edsView(restored) };
  };
}

/** Start- or StopEventDataStoreIngestion. */
function ingestionOperation(deps: LakeOperationDeps, start: boolean): OperationHandler {
  return async (input, context) => {
    const store = requireActive(await deps.resolve(input, context));
    if (storeCategory(store) === "ActivityAuditLog")
      throw new ApiError(
        "InvalidEventDataStoreCategoryException",
        "Ingestion of an ActivityAuditLog event data store is controlled by its channels.",
      );
    const expected = start ? "STOPPED_INGESTION" : "ENABLED";
    if (store.status !== expected && !(store.status === "CREATED" && !start))
      throw new ApiError(
        "InvalidEventDataStoreStatusException",
        `Event data store ${store.arn} is ${store.status}; ${start ? "Start" : "Stop"}EventDataStoreIngestion needs ${expected}.`,
      );
    await saveStore(deps, { ...store, status: start ? "ENABLED" : "STOPPED_INGESTION", updatedMs: context.nowMs });
    return { output: {}, responseElements: null };
  };
}
