import { performance } from "node:perf_hooks";
import type { LeaseGrant, LeaseStore } from "./lease.js";

/** The most issue #13 allows: a dead node's singleton work waits at most this long for another node. */
const LEASE_TTL_MS_MAX = 15_000;

/** Where a node's leases come from and whom they name (cluster mode). */
export interface LeaseKeeperOptions {
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

/**
 * The leases one node holds for its singleton work (a trail's delivery, the event-history indexer),
 * by key; `nameOf` turns a key into the lease's name. The holder calls renewAll() every
 * `renewEveryMs` and hears of each lease it lost, to stop that work: a lease alone does not stop a
 * paused holder, so the work also writes under the grant's fencing token (decision 0012).
 */
export class LeaseKeeper {
  readonly ttlMs: number;
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly options: LeaseKeeperOptions,
    private readonly nameOf: (key: string) => string = (key) => key,
  ) {
    this.ttlMs = Math.min(LEASE_TTL_MS_MAX, options.ttlMs ?? LEASE_TTL_MS_MAX);
  }

  /** How often renewAll() must run: a third of the TTL, so one late renewal does not lose the lease. */
  get renewEveryMs(): number {
    return Math.max(1, Math.floor(this.ttlMs / 3));
  }

  /** This node's grant on `key` (renewed when already held); undefined while another node holds it. */
  async acquire(key: string): Promise<LeaseGrant | undefined> {
    const askedAtMs = performance.now();
    const grant = await this.options.store.acquire(this.nameOf(key), this.options.holder, this.ttlMs);
    if (grant === undefined) {
      this.held.delete(key);
      return undefined;
    }
    this.held.set(key, { grant, deadlineMs: askedAtMs + this.ttlMs, renewing: false });
    return grant;
  }

  /**
   * Renews every held lease; `onLost` hears of each one that passed to another holder, or whose
   * renewals failed until it surely lapsed. A renewal still under way (a slow store) is not doubled.
   */
  async renewAll(onLost: (key: string, reason: string) => void, report: (error: unknown) => void): Promise<void> {
    await Promise.all([...this.held].map(([key, held]) => this.renewOne(key, held, onLost, report)));
  }

  private async renewOne(
    key: string,
    held: Held,
    onLost: (key: string, reason: string) => void,
    report: (error: unknown) => void,
  ): Promise<void> {
    if (held.renewing) return;
    held.renewing = true;
    const askedAtMs = performance.now();
    let lost: string | undefined;
    try {
      const renewed = await this.options.store.renew(held.grant, this.ttlMs);
      if (renewed !== undefined) Object.assign(held, { grant: renewed, deadlineMs: askedAtMs + this.ttlMs });
      else lost = `The lease on ${key} passed to another node.`;
    } catch (error) {
      report(error);
      if (performance.now() >= held.deadlineMs) lost = `The lease on ${key} lapsed: it could not be renewed.`;
    } finally {
      held.renewing = false;
    }
    // Only if this is still the grant renewed: the lease may have been given up or re-acquired meanwhile.
    if (lost !== undefined && this.held.get(key) === held) {
      this.held.delete(key);
      onLost(key, lost);
    }
  }

  /** Stops tracking a lease that is known lost (its token was fenced off). */
  forget(key: string): void {
    this.held.delete(key);
  }

  /** Gives a lease up at once, so another node need not wait for the TTL. */
  async release(key: string): Promise<void> {
    const held = this.held.get(key);
    this.held.delete(key);
    if (held !== undefined) await this.options.store.release(held.grant);
  }

  /** The keys whose lease this node holds, as far as its renewals know. */
  heldKeys(): string[] {
    return [...this.held.keys()];
  }
}
