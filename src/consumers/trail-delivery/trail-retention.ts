import {
  emptyDeliveryState,
  type DeletedTrail,
  type DeliveryState,
  type TrailConfig,
} from "../../stores/trails/index.js";

/**
 * Whether the drain of the stop at `untilSeq` finished (its final digest written). A state saved
 * before drains were recorded counts as drained when everything up to the stop is delivered and
 * every file is in a digest.
 */
export function drainFinished(state: DeliveryState, untilSeq: number): boolean {
  if (state.drainedUntilSeq !== undefined) return state.drainedUntilSeq === untilSeq;
  return state.intent === null && state.undigested.length === 0 && state.cursor >= untilSeq;
}

/**
 * The lowest journal seq a trail still needs, from its saved state alone, whichever node delivers
 * it: a logging trail, or a stopped one whose drain no node finished, needs what follows its durable
 * cursor, but nothing before the seq its logging started from (`deliverFromSeq`: a trail that never
 * delivered holds retention there, not at 1). A saved plan's files, and a drain not finished (even
 * when the trail was started again since), lie above the cursor: those keep the cursor as it is.
 * Infinity for a trail that needs nothing (never started, or stopped and drained).
 */
function trailNeededFromSeq(trail: TrailConfig, state: DeliveryState): number {
  const untilSeq = trail.deliverUntilSeq;
  const undrained = untilSeq !== undefined && !drainFinished(state, untilSeq);
  if (!trail.isLogging && !undrained) return Infinity;
  if (state.intent !== null || undrained) return state.cursor + 1;
  // The deliverer skips what lies before `deliverFromSeq` (TrailDeliverer.loadCursor).
  return Math.max(state.cursor, (trail.deliverFromSeq ?? 1) - 1) + 1;
}

/**
 * The lowest journal seq any of `trails`, and of the `deleted` trails not drained yet, still needs,
 * each from its saved state in `states` (a trail with none has an empty one, cursor 0); Infinity when
 * none needs anything. Cluster mode's journal retention floor for trail delivery: the states are the
 * ones every node saved. A deleted trail needs what follows its cursor until its drain is recorded
 * (its state's `drainedUntilSeq` is its deletion's); the same ARN's new trail waits for that drain.
 */
export function trailsNeededFromSeq(
  trails: readonly TrailConfig[],
  states: readonly DeliveryState[],
  deleted: readonly DeletedTrail[] = [],
): number {
  const byArn = new Map(states.map((state) => [state.trailArn, state]));
  const stateOf = (arn: string) => byArn.get(arn) ?? emptyDeliveryState(arn);
  let floor = Infinity;
  for (const trail of trails) floor = Math.min(floor, trailNeededFromSeq(trail, stateOf(trail.trailArn)));
  for (const { trail, deliverUntilSeq } of deleted) {
    const state = stateOf(trail.trailArn);
    if (state.drainedUntilSeq !== deliverUntilSeq) floor = Math.min(floor, state.cursor + 1);
  }
  return floor;
}
