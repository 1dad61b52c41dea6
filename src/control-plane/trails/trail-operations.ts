/**
 * The trail control plane (spec §5.3–5.4, §6): one handler per CloudTrail operation, to be merged
 * into the server's operation map.
 */
import type { OperationHandler } from "../operation.js";
import { createTrailOperation, updateTrailOperation } from "./create-update-trail.js";
import { getEventSelectorsOperation, putEventSelectorsOperation } from "./event-selector-operations.js";
import { getInsightSelectorsOperation, putInsightSelectorsOperation } from "./insight-selector-operations.js";
import { describeTrailsOperation, getTrailOperation, listTrailsOperation } from "./read-trails.js";
import { addTagsOperation, listTagsOperation, removeTagsOperation } from "./tag-operations.js";
import type { TrailOperationDeps } from "./trail-deps.js";
import {
  deleteTrailOperation,
  getTrailStatusOperation,
  startLoggingOperation,
  stopLoggingOperation,
} from "./trail-logging.js";

export type { TrailOperationDeps } from "./trail-deps.js";

/**
 * @example
 * for (const [name, handler] of createTrailOperations({ trails, objectStore, owners, clock, journalHeadSeq: () => journal.latestSeq(), createMissingBuckets: true }))
 *   operations.set(name, handler);
 */
export function createTrailOperations(deps: TrailOperationDeps): Map<string, OperationHandler> {
  return new Map<string, OperationHandler>([
    ["CreateTrail", createTrailOperation(deps)],
    ["UpdateTrail", updateTrailOperation(deps)],
    ["GetTrail", getTrailOperation(deps)],
    ["DescribeTrails", describeTrailsOperation(deps)],
    ["ListTrails", listTrailsOperation(deps)],
    ["DeleteTrail", deleteTrailOperation(deps)],
    ["StartLogging", startLoggingOperation(deps)],
    ["StopLogging", stopLoggingOperation(deps)],
    ["GetTrailStatus", getTrailStatusOperation(deps)],
    ["PutEventSelectors", putEventSelectorsOperation(deps)],
    ["GetEventSelectors", getEventSelectorsOperation(deps)],
    ["PutInsightSelectors", putInsightSelectorsOperation(deps)],
    ["GetInsightSelectors", getInsightSelectorsOperation(deps)],
    ["AddTags", addTagsOperation(deps)],
    ["ListTags", listTagsOperation(deps)],
    ["RemoveTags", removeTagsOperation(deps)],
  ]);
}
