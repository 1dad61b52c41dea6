/**
 * ListInsightsData (spec §8.3): the Insights records on data events of the caller's account and
 * region, read from Event history's own view of them (`dataInsight`) with LookupEvents' paging, so
 * both APIs answer the same `Event` shape with the same tokens and time bounds. Every problem with
 * the input is InvalidParameterException, the only validation error the operation's model lists.
 */
import {
  InvalidNextTokenError,
  type EventHistory,
  type LookupAttributeKey,
  type LookupQuery,
} from "../../consumers/event-history/event-history.js";
import { ApiError } from "../../lib/api-error.js";
import { isPlainObject } from "../../lib/plain-object.js";
import type { TrailStore } from "../../stores/trails/index.js";
import { optionalInteger, optionalString, optionalTimestampMs } from "../input.js";
import type { OperationContext, OperationHandler } from "../operation.js";
import { findTrail } from "../trails/trail-input.js";
import { parseTrailReference, TRAIL_RESOURCE_TYPE } from "../trails/trail-names.js";

const MAX_RESULTS_MAX = 50;
const SOURCE_PATTERN = /^[a-zA-Z0-9._/\-:]{3,256}$/;
const DIMENSION_KEYS: readonly LookupAttributeKey[] = ["EventId", "EventName", "EventSource"];
const DIMENSION_VALUE_MAX = 2000;
const NEXT_TOKEN_MIN = 4;
const NEXT_TOKEN_MAX = 1000;

export interface ListInsightsDataDeps {
  readonly history: Pick<EventHistory, "lookup">;
  readonly trails: TrailStore;
  readonly retentionDays: number;
  /** Read-your-writes, as LookupEvents waits (resolves after a bound). */
  readonly waitForIndex: () => Promise<void>;
}

function invalid(message: string): ApiError {
  return new ApiError("InvalidParameterException", message);
}

/** InsightSource: the ARN of a trail of the caller (any region's, as an ARN names it exactly). */
async function readSource(deps: ListInsightsDataDeps, input: Record<string, unknown>, context: OperationContext) {
  const value = optionalString(input, "InsightSource");
  if (value === undefined || value === "") throw invalid("InsightSource is required.");
  if (!SOURCE_PATTERN.test(value))
    throw invalid("InsightSource must be 3 to 256 characters matching ^[a-zA-Z0-9._/\\-:]+$.");
  const parsed = parseTrailReference(value);
  if ("problem" in parsed || parsed.reference.kind !== "arn")
    throw invalid("InsightSource must be the ARN of a trail (arn:aws:cloudtrail:<region>:<account-id>:trail/<name>).");
  const trail = await findTrail(deps.trails, context, parsed.reference);
  if (trail === undefined) throw invalid(`InsightSource ${value} is not a trail of account ${context.accountId}.`);
  return trail;
}

function readDimensions(input: Record<string, unknown>): Array<{ key: LookupAttributeKey; value: string }> {
  const value = input["Dimensions"];
  if (value === undefined || value === null) return [];
  if (!isPlainObject(value)) throw new ApiError("SerializationException", "Member 'Dimensions' must be a map.");
  const entries = Object.entries(value);
  if (entries.length !== 1) throw invalid("Dimensions must contain exactly one of EventId, EventName, EventSource.");
  const [key, text] = entries[0]!;
  if (!(DIMENSION_KEYS as readonly string[]).includes(key))
    throw invalid("Dimensions keys must be EventId, EventName or EventSource.");
  if (typeof text !== "string" || text.length === 0 || text.length > DIMENSION_VALUE_MAX)
    throw invalid(`Dimensions values must be 1 to ${DIMENSION_VALUE_MAX} characters.`);
  return [{ key: key as LookupAttributeKey, value: text }];
}

function readQuery(input: Record<string, unknown>, context: OperationContext, retentionDays: number): LookupQuery {
  const dataType = optionalString(input, "DataType");
  if (dataType === undefined) throw invalid("DataType is required.");
  if (dataType !== "InsightsEvents") throw invalid("DataType must be InsightsEvents.");
  const attributes = readDimensions(input);
  const maxResults = optionalInteger(input, "MaxResults") ?? MAX_RESULTS_MAX;
  if (maxResults < 1 || maxResults > MAX_RESULTS_MAX) throw invalid(`MaxResults must be 1 to ${MAX_RESULTS_MAX}.`);
  const requestedStartMs = optionalTimestampMs(input, "StartTime", "InvalidParameterException");
  const requestedEndMs = optionalTimestampMs(input, "EndTime", "InvalidParameterException");
  const startTimeMs = requestedStartMs ?? context.nowMs - retentionDays * 86_400_000;
  const endTimeMs = requestedEndMs ?? context.nowMs;
  if (startTimeMs > endTimeMs) throw invalid("StartTime must be before or equal to EndTime.");
  const nextToken = optionalString(input, "NextToken");
  if (nextToken !== undefined && (nextToken.length < NEXT_TOKEN_MIN || nextToken.length > NEXT_TOKEN_MAX))
    throw invalid(`NextToken must be ${NEXT_TOKEN_MIN} to ${NEXT_TOKEN_MAX} characters.`);
  return {
    accountId: context.accountId,
    region: context.region,
    attributes,
    startTimeMs,
    endTimeMs,
    startTimeDefaulted: requestedStartMs === undefined,
    endTimeDefaulted: requestedEndMs === undefined,
    maxResults,
    eventCategory: "dataInsight",
    ...(nextToken !== undefined ? { nextToken } : {}),
  };
}

export function listInsightsDataOperation(deps: ListInsightsDataDeps): OperationHandler {
  return async function listInsightsData(input: Record<string, unknown>, context: OperationContext) {
    const query = readQuery(input, context, deps.retentionDays);
    const trail = await readSource(deps, input, context);
    await deps.waitForIndex();
    try {
      const result = await deps.history.lookup(query);
      return {
        output: { Events: result.events, ...(result.nextToken !== undefined ? { NextToken: result.nextToken } : {}) },
        resources: [{ accountId: trail.accountId, type: TRAIL_RESOURCE_TYPE, ARN: trail.trailArn }],
      };
    } catch (error) {
      if (error instanceof InvalidNextTokenError)
        throw invalid("NextToken is invalid or was issued for different parameters.");
      throw error;
    }
  };
}
