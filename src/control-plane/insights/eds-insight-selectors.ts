/**
 * PutInsightSelectors and GetInsightSelectors on event data stores (spec §8.1, decision 0019 point
 * 11): the source store's selectors and its destination, kept on the source store in the Lake
 * catalog. The source must log management events; the destination must be an Insights event data
 * store (selectors of eventCategory Insight) of the caller's account. Insights on data events are
 * trail-only.
 */
import { ApiError } from "../../lib/api-error.js";
import { storeCategory, type EventDataStore, type LakeCatalog } from "../../lake/catalog/index.js";
import { toLowerCamelKeys } from "../../normalize/lower-camel.js";
import { compileEventSelectors } from "../../selectors/selector-matcher.js";
import type { InsightSelector } from "../../stores/trails/index.js";
import { optionalString } from "../input.js";
import type { OperationContext, OperationResult } from "../operation.js";
import { checkManagementPrerequisites, invalidInsightSelectors } from "./insight-prerequisites.js";

/** What the operations read and write of the Lake catalog. */
export type EdsInsightCatalog = Pick<LakeCatalog, "store" | "putStore">;

const STORE_REFERENCE = /^[a-zA-Z0-9._/\-:]{3,256}$/;
const EDS_RESOURCE_TYPE = "AWS::CloudTrail::EventDataStore";

/** The caller's store an EventDataStore or InsightsDestination value (id or ARN) names. */
async function storeNamed(
  catalog: EdsInsightCatalog,
  input: Record<string, unknown>,
  member: string,
  context: OperationContext,
): Promise<EventDataStore | undefined> {
  const value = optionalString(input, member);
  if (value === undefined || value === "") throw new ApiError("InvalidParameterException", `${member} is required.`);
  if (!STORE_REFERENCE.test(value))
    throw new ApiError(
      "InvalidParameterException",
      `${member} must be 3 to 256 characters matching ^[a-zA-Z0-9._/\\-:]+$.`,
    );
  const store = await catalog.store(value.slice(value.lastIndexOf("/") + 1).toLowerCase());
  if (store === undefined || store.accountId !== context.accountId || store.status === "PENDING_DELETION")
    return undefined;
  return value.startsWith("arn:") && store.arn !== value ? undefined : store;
}

async function sourceStore(
  catalog: EdsInsightCatalog,
  input: Record<string, unknown>,
  context: OperationContext,
): Promise<EventDataStore> {
  const store = await storeNamed(catalog, input, "EventDataStore", context);
  if (store === undefined)
    throw new ApiError(
      "EventDataStoreNotFoundException",
      `The specified event data store ${String(input["EventDataStore"])} was not found.`,
    );
  return store;
}

function resources(store: EventDataStore) {
  return [{ accountId: store.accountId, type: EDS_RESOURCE_TYPE, ARN: store.arn }];
}

/** Checks the pair and stores the selectors on the source; `[]` turns Insights off (and forgets the destination). */
export async function putEdsInsightSelectors(
  catalog: EdsInsightCatalog,
  input: Record<string, unknown>,
  selectors: readonly InsightSelector[],
  context: OperationContext,
): Promise<OperationResult> {
  const source = await sourceStore(catalog, input, context);
  const destination = await storeNamed(catalog, input, "InsightsDestination", context);
  if (destination === undefined || storeCategory(destination) !== "Insight")
    throw new ApiError(
      "InvalidParameterException",
      "InsightsDestination must be an event data store of your account whose selectors select eventCategory Insight.",
    );
  if (destination.id === source.id)
    throw new ApiError("InvalidParameterException", "A store cannot be its own InsightsDestination.");
  if (selectors.some((s) => (s.EventCategories ?? []).includes("Data")))
    throw invalidInsightSelectors("Insights on data events are available on trails only.");
  if (storeCategory(source) !== "Management" && selectors.length > 0)
    throw invalidInsightSelectors("Insights need a source event data store that logs management events.");
  checkManagementPrerequisites(
    compileEventSelectors({ advancedEventSelectors: source.advancedEventSelectors }),
    selectors,
    "event data store",
  );
  const { insightSelectors: _old, insightsDestination: _was, ...rest } = source;
  const updated: EventDataStore =
    selectors.length === 0 ? rest : { ...rest, insightSelectors: [...selectors], insightsDestination: destination.arn };
  await catalog.putStore(updated);
  const output = { EventDataStoreArn: source.arn, InsightsDestination: destination.arn, InsightSelectors: selectors };
  return {
    output,
    responseElements: toLowerCamelKeys(output) as Record<string, unknown>,
    resources: resources(source),
  };
}

export async function getEdsInsightSelectors(
  catalog: EdsInsightCatalog,
  input: Record<string, unknown>,
  context: OperationContext,
): Promise<OperationResult> {
  const source = await sourceStore(catalog, input, context);
  const selectors = source.insightSelectors ?? [];
  if (selectors.length === 0 || source.insightsDestination === undefined)
    throw new ApiError("InsightNotEnabledException", `Event data store ${source.arn} does not have Insights enabled.`);
  return {
    output: {
      EventDataStoreArn: source.arn,
      InsightsDestination: source.insightsDestination,
      InsightSelectors: selectors,
    },
    resources: resources(source),
  };
}
