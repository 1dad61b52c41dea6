import {
  InvalidNextTokenError,
  LOOKUP_ATTRIBUTE_KEYS,
  type EventHistory,
  type LookupAttributeKey,
  type LookupQuery,
} from "../consumers/event-history/event-history.js";
import { ApiError } from "../lib/api-error.js";
import { optionalInteger, optionalList, optionalString, optionalTimestampMs } from "./input.js";
import { isPlainObject } from "../lib/plain-object.js";
import type { OperationContext, OperationHandler } from "./operation.js";

const LOOKUP_MAX_RESULTS_DEFAULT = 50;
const ATTRIBUTE_VALUE_WEIGHT_MAX = 2000;

/** The spec counts `_`, space, `,` and newline twice towards the 2000-character limit (§4.1). */
function attributeValueWeight(value: string): number {
  let weight = 0;
  for (const char of value) weight += char === "_" || char === " " || char === "," || char === "\n" ? 2 : 1;
  return weight;
}

function parseAttributes(input: Record<string, unknown>): Array<{ key: LookupAttributeKey; value: string }> {
  const list = optionalList(input, "LookupAttributes") ?? [];
  return list.map((item, index) => {
    if (!isPlainObject(item))
      throw new ApiError("SerializationException", `LookupAttributes[${index}] must be a structure.`);
    const key = item["AttributeKey"];
    const value = item["AttributeValue"];
    if (typeof key !== "string" || !(LOOKUP_ATTRIBUTE_KEYS as readonly string[]).includes(key)) {
      throw new ApiError(
        "InvalidLookupAttributesException",
        `LookupAttributes[${index}].AttributeKey must be one of ${LOOKUP_ATTRIBUTE_KEYS.join(", ")}.`,
      );
    }
    if (typeof value !== "string" || value.length === 0 || attributeValueWeight(value) > ATTRIBUTE_VALUE_WEIGHT_MAX) {
      throw new ApiError(
        "InvalidLookupAttributesException",
        `LookupAttributes[${index}].AttributeValue must be a string of 1 to ${ATTRIBUTE_VALUE_WEIGHT_MAX} characters.`,
      );
    }
    return { key: key as LookupAttributeKey, value };
  });
}

export interface LookupEventsOptions {
  readonly history: EventHistory;
  readonly retentionDays: number;
  /** Resolves once everything journaled before the call is indexed (read-your-writes), or after a bound. */
  readonly waitForIndex: () => Promise<void>;
}

export function createLookupEventsOperation(options: LookupEventsOptions): OperationHandler {
  return async function lookupEvents(input: Record<string, unknown>, context: OperationContext) {
    const attributes = parseAttributes(input);
    const category = optionalString(input, "EventCategory");
    if (category !== undefined && category !== "insight") {
      throw new ApiError("InvalidEventCategoryException", "EventCategory must be 'insight' when it is specified.");
    }
    if (category === "insight" && attributes.some((a) => !["EventId", "EventName", "EventSource"].includes(a.key))) {
      throw new ApiError(
        "InvalidLookupAttributesException",
        "Insights events support only the EventId, EventName and EventSource attributes.",
      );
    }
    const maxResults = optionalInteger(input, "MaxResults") ?? LOOKUP_MAX_RESULTS_DEFAULT;
    if (maxResults < 1 || maxResults > 50) {
      throw new ApiError("InvalidMaxResultsException", "MaxResults must be between 1 and 50.");
    }
    // Defaults move with the clock, so a token binds to "defaulted", not to the value of the first page.
    const requestedStartMs = optionalTimestampMs(input, "StartTime", "InvalidTimeRangeException");
    const requestedEndMs = optionalTimestampMs(input, "EndTime", "InvalidTimeRangeException");
    const startTimeMs = requestedStartMs ?? context.nowMs - options.retentionDays * 86_400_000;
    const endTimeMs = requestedEndMs ?? context.nowMs;
    if (startTimeMs > endTimeMs) {
      throw new ApiError("InvalidTimeRangeException", "Start time must be before or equal to end time.");
    }
    const nextToken = optionalString(input, "NextToken");
    const query: LookupQuery = {
      accountId: context.accountId,
      region: context.region,
      attributes,
      startTimeMs,
      endTimeMs,
      startTimeDefaulted: requestedStartMs === undefined,
      endTimeDefaulted: requestedEndMs === undefined,
      maxResults,
      ...(nextToken !== undefined ? { nextToken } : {}),
      ...(category === "insight" ? { eventCategory: "insight" as const } : {}),
    };
    // Read-your-writes is the first page's: a next page continues that search, and waiting again on
    // every page would make a long walk (GET /export-events, 4,000 pages for 200,000 events) wait for
    // the indexer once per page while ingest goes on.
    if (nextToken === undefined) await options.waitForIndex();
    try {
      const result = await options.history.lookup(query);
      return {
        output: { Events: result.events, ...(result.nextToken !== undefined ? { NextToken: result.nextToken } : {}) },
      };
    } catch (error) {
      if (error instanceof InvalidNextTokenError) {
        throw new ApiError(
          "InvalidNextTokenException",
          "The NextToken is invalid or was issued for different parameters.",
        );
      }
      throw error;
    }
  };
}
