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
        deliverFromSeq: (await deps.journalHeadSeq()) + 1,
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
        deliverUntilSeq: await deps.journalHeadSeq(),
      });
    }
    return { output: {}, responseElements: null, resources: trailResources(trail) };
  };
}

export function deleteTrailOperation(deps: TrailOperationDeps): OperationHandler {
  return async function deleteTrail(input: Record<string, unknown>, context: OperationContext) {
    const trail = await resolveTrail(deps.trails, input, "Name", context, { mutating: true });
    // What the trail logged until now is still delivered, with a final digest, as for StopLogging:
    // the store keeps it for the delivery managers until one of them drained it.
    await deps.trails.delete(trail.accountId, trail.name, { journalHeadSeq: await deps.journalHeadSeq() });
    return { output: {}, responseElements: null, resources: trailResources(trail) };
  };
}

const seconds = (ms: number): number => ms / 1000;

/** The legacy members' string form (`2016-01-28T23:02:24Z`); `""` until the event has happened. */
const legacyTime = (ms: number | undefined): string => (ms === undefined ? "" : toEventTime(ms));

/**
 * GetTrailStatus: timestamps as epoch seconds, plus the six legacy string members real responses
 * always carry (spec §5.3): clients read them, so they are present as `""` until they apply. The
 * epoch members appear only with a value; Cairn sends no CloudWatch Logs, so those never appear.
 * The notification members are the trail's SNS notifications' (docs/reference/sns.md).
 */
export function getTrailStatusOperation(deps: TrailOperationDeps): OperationHandler {
  return async function getTrailStatus(input: Record<string, unknown>, context: OperationContext) {
    const trail = await resolveTrail(deps.trails, input, "Name", context, { mutating: false, arnInNotFound: true });
    const status = await deps.trails.status(trail.trailArn);
    const output: Record<string, unknown> = { IsLogging: trail.isLogging };
    if (status.latestDeliveryError !== undefined) output["LatestDeliveryError"] = status.latestDeliveryError;
    if (status.latestDeliveryTimeMs !== undefined) output["LatestDeliveryTime"] = seconds(status.latestDeliveryTimeMs);
    if (status.latestNotificationError !== undefined)
      output["LatestNotificationError"] = status.latestNotificationError;
    if (status.latestNotificationTimeMs !== undefined)
      output["LatestNotificationTime"] = seconds(status.latestNotificationTimeMs);
    if (trail.startLoggingTimeMs !== undefined) output["StartLoggingTime"] = seconds(trail.startLoggingTimeMs);
    if (trail.stopLoggingTimeMs !== undefined) output["StopLoggingTime"] = seconds(trail.stopLoggingTimeMs);
    if (status.latestDigestDeliveryTimeMs !== undefined)
      output["LatestDigestDeliveryTime"] = seconds(status.latestDigestDeliveryTimeMs);
    if (status.latestDigestDeliveryError !== undefined)
      output["LatestDigestDeliveryError"] = status.latestDigestDeliveryError;
    output["LatestDeliveryAttemptTime"] = legacyTime(status.latestDeliveryAttemptTimeMs);
    output["LatestNotificationAttemptTime"] = legacyTime(status.latestNotificationAttemptTimeMs);
    output["LatestNotificationAttemptSucceeded"] = legacyTime(status.latestNotificationTimeMs);
    output["LatestDeliveryAttemptSucceeded"] = legacyTime(status.latestDeliveryTimeMs);
    output["TimeLoggingStarted"] = legacyTime(trail.startLoggingTimeMs);
    output["TimeLoggingStopped"] = legacyTime(trail.stopLoggingTimeMs);
    return { output, resources: trailResources(trail) };
  };
}
