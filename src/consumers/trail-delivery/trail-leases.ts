import { performance } from "node:perf_hooks";
import type { LeaseGrant, LeaseStore } from "../../stores/lease/index.js";

/** The most issue #13 allows: a dead node's trails wait at most this long for another node. */
const TRAIL_LEASE_TTL_MS_DEFAULT = 15_000;

/**
 * Cluster mode: a trail is delivered only by the node holding its lease, and every delivery-state
 * load and save carries that lease's fencing token (docs/specs/trail-delivery.md, "Leases").
 */
export interface TrailLeases {
  readonly store: LeaseStore;
  /** This node's id, the holder of the leases it takes. */
  readonly holder: string;
  /** Default (and at most) 15 000; leases are renewed every third of it. */
  readonly ttlMs?: number;
}

interface Held {
  grant: LeaseGrant;
  /**
   * When the lease surely lapsed, on this node's monotonic clock: the grant's own `expiresAtMs` is
   * on the lease store's clock, so the TTL is counted from before the request was sent.
   */
  deadlineMs: number;
  renewing: boolean;
}

/** The trail leases this node holds, named `trail-delivery:<trailArn>`. */
export class TrailLeaseKeeper {
  readonly ttlMs: number;
  private readonly held = new Map<string, Held>();

  constructor(private readonly leases: TrailLeases) {
    this.ttlMs = Math.min(TRAIL_LEASE_TTL_MS_DEFAULT, leases.ttlMs ?? TRAIL_LEASE_TTL_MS_DEFAULT);
  }

  /** How often renewAll() must run: a third of the TTL, so one late renewal does not lose the lease. */
  get renewEveryMs(): number {
    return Math.max(1, Math.floor(this.ttlMs / 3));
  }

  /** This node's grant on the trail (renewed when already held); undefined while another node holds it. */
  async acquire(trailArn: string): Promise<LeaseGrant | undefined> {
    const askedAtMs = performance.now();
    const grant = await this.leases.store.acquire(leaseName(trailArn), this.leases.holder, this.ttlMs);
    if (grant === undefined) {
      this.held.delete(trailArn);
      return undefined;
    }
    this.held.set(trailArn, { grant, deadlineMs: askedAtMs + this.ttlMs, renewing: false });
    return grant;
  }

  /**
   * Renews every held lease; `onLost` hears of each one that passed to another holder, or whose
   * renewals failed until it surely lapsed. A renewal still under way (a slow store) is not doubled.
   */
  async renewAll(onLost: (trailArn: string, reason: string) => void, report: (error: unknown) => void): Promise<void> {
    await Promise.all([...this.held].map(([arn, held]) => this.renewOne(arn, held, onLost, report)));
  }

  private async renewOne(
    trailArn: string,
    held: Held,
    onLost: (trailArn: string, reason: string) => void,
    report: (error: unknown) => void,
  ): Promise<void> {
    if (held.renewing) return;
    held.renewing = true;
    const askedAtMs = performance.now();
    let lost: string | undefined;
    try {
      const renewed = await this.leases.store.renew(held.grant, this.ttlMs);
      if (renewed !== undefined) Object.assign(held, { grant: renewed, deadlineMs: askedAtMs + this.ttlMs });
      else lost = `The lease on ${trailArn} passed to another node.`;
    } catch (error) {
      report(error);
      if (performance.now() >= held.deadlineMs) lost = `The lease on ${trailArn} lapsed: it could not be renewed.`;
    } finally {
      held.renewing = false;
    }
    // Only if this is still the grant renewed: the trail may have been given up or re-acquired meanwhile.
    if (lost !== undefined && this.held.get(trailArn) === held) {
      this.held.delete(trailArn);
      onLost(trailArn, lost);
    }
  }

  /** Stops tracking a lease that is known lost (its token was fenced off). */
  forget(trailArn: string): void {
    this.held.delete(trailArn);
  }

  /** Gives a trail up at once, so another node need not wait for the TTL. */
  async release(trailArn: string): Promise<void> {
    const held = this.held.get(trailArn);
    this.held.delete(trailArn);
    if (held !== undefined) await this.leases.store.release(held.grant);
  }

  heldTrails(): string[] {
    return [...this.held.keys()];
  }
}

function leaseName(trailArn: string): string {
  return `trail-delivery:${trailArn}`;
}
