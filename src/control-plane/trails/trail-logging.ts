/** StartLogging, StopLogging, GetTrailStatus and DeleteTrail (spec §5.3, §5.4). */
import type { OperationContext, OperationHandler } from "../operation.js";
import { toEventTime } from "../../lib/clock.js";
import type { TrailOperationDeps } from "./trail-deps.js";
import { resolveTrail, trailResources } from "./trail-input.js";

export function startLoggingOperation(deps: TrailOperationDeps): OperationHandler {
  return async function startLogging(input: Record<string, unknown>, context: OperationContext) {
    const trail = await resolveTrail(deps.trails, input, "Name", context, { mutating: true });
    // Starting a logging trail changes nothing: its delivery position must not jump.
    if (!trail.isLogging) {
      await deps.trails.put({
        ...trail,
        isLogging: true,
        startLoggingTimeMs: deps.clock.nowMs(),
        // The StartLogging call's own record is journaled after this returns, so it is delivered.
        deliverFromSeq: deps.journalHeadSeq() + 1,
      });
    }
    return { output: {}, responseElements: null, resources: trailResources(trail) };
  };
}

export function stopLoggingOperation(deps: TrailOperationDeps): OperationHandler {
  return async function stopLogging(input: Record<string, unknown>, context: OperationContext) {
    const trail = await resolveTrail(deps.trails, input, "Name", context, { mutating: true });
    if (trail.isLogging) {
      await deps.trails.put({
        ...trail,
        isLogging: false,
        stopLoggingTimeMs: deps.clock.nowMs(),
        deliverUntilSeq: deps.journalHeadSeq(),
      });
    }
    return { output: {}, responseElements: null, resources: trailResources(trail) };
  };
}

export function deleteTrailOperation(deps: TrailOperationDeps): OperationHandler {
  return async function deleteTrail(input: Record<string, unknown>, context: OperationContext) {
    const trail = await resolveTrail(deps.trails, input, "Name", context, { mutating: true });
    await deps.trails.delete(trail.accountId, trail.name);
    return { output: {}, responseElements: null, resources: trailResources(trail) };
  };
}

const seconds = (ms: number): number => ms / 1000;

/**
 * GetTrailStatus: timestamps as epoch seconds, plus the legacy string members real responses still
 * carry (ISO times, spec §5.3). Only members with a value are returned; Cairn sends no SNS
 * notifications and no CloudWatch Logs, so those members never appear.
 */
export function getTrailStatusOperation(deps: TrailOperationDeps): OperationHandler {
  return async function getTrailStatus(input: Record<string, unknown>, context: OperationContext) {
    const trail = await resolveTrail(deps.trails, input, "Name", context, { mutating: false, arnInNotFound: true });
    const status = await deps.trails.status(trail.trailArn);
    const output: Record<string, unknown> = { IsLogging: trail.isLogging };
    if (status.latestDeliveryError !== undefined) output["LatestDeliveryError"] = status.latestDeliveryError;
    if (status.latestDeliveryTimeMs !== undefined) output["LatestDeliveryTime"] = seconds(status.latestDeliveryTimeMs);
    if (trail.startLoggingTimeMs !== undefined) output["StartLoggingTime"] = seconds(trail.startLoggingTimeMs);
    if (trail.stopLoggingTimeMs !== undefined) output["StopLoggingTime"] = seconds(trail.stopLoggingTimeMs);
    if (status.latestDigestDeliveryTimeMs !== undefined)
      output["LatestDigestDeliveryTime"] = seconds(status.latestDigestDeliveryTimeMs);
    if (status.latestDigestDeliveryError !== undefined)
      output["LatestDigestDeliveryError"] = status.latestDigestDeliveryError;
    if (status.latestDeliveryAttemptTimeMs !== undefined)
      output["LatestDeliveryAttemptTime"] = toEventTime(status.latestDeliveryAttemptTimeMs);
    if (status.latestDeliveryTimeMs !== undefined)
      output["LatestDeliveryAttemptSucceeded"] = toEventTime(status.latestDeliveryTimeMs);
    if (trail.startLoggingTimeMs !== undefined) output["TimeLoggingStarted"] = toEventTime(trail.startLoggingTimeMs);
    if (trail.stopLoggingTimeMs !== undefined) output["TimeLoggingStopped"] = toEventTime(trail.stopLoggingTimeMs);
    return { output, resources: trailResources(trail) };
  };
}
