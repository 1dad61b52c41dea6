import { LeaseKeeper, type LeaseKeeperOptions } from "../../stores/lease/index.js";

/**
 * Cluster mode: a trail is delivered only by the node holding its lease, and every delivery-state
 * load and save carries that lease's fencing token (docs/specs/trail-delivery.md, "Leases").
 */
export type TrailLeases = LeaseKeeperOptions;

/** The trail leases this node holds, keyed by trail ARN, named `trail-delivery:<trailArn>`. */
export class TrailLeaseKeeper extends LeaseKeeper {
  constructor(leases: TrailLeases) {
    super(leases, (trailArn) => `trail-delivery:${trailArn}`);
  }

  heldTrails(): string[] {
    return this.heldKeys();
  }
}
