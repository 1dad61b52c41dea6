import type { Clock } from "../../lib/clock.js";
import type { LeaseGrant, LeaseStore } from "./lease.js";

/**
 * The embedded lease store: one process owns the data directory, so leases only have to be
 * exclusive among that process's own holders. Tokens restart with the process, which is safe
 * because a restarted process is the only writer of its data directory.
 */
export class LocalLeaseStore implements LeaseStore {
  private readonly leases = new Map<string, LeaseGrant>();
  private lastToken = 0;

  constructor(private readonly clock: Clock) {}

  async acquire(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | undefined> {
    const current = this.leases.get(name);
    const nowMs = this.clock.nowMs();
    if (current !== undefined && current.holder !== holder && current.expiresAtMs > nowMs) return undefined;
    const fencingToken =
      current?.holder === holder && current.expiresAtMs > nowMs ? current.fencingToken : ++this.lastToken;
    const grant = { name, holder, fencingToken, expiresAtMs: nowMs + ttlMs };
    this.leases.set(name, grant);
    return grant;
  }

  async renew(grant: LeaseGrant, ttlMs: number): Promise<LeaseGrant | undefined> {
    const current = this.leases.get(grant.name);
    const nowMs = this.clock.nowMs();
    if (current?.fencingToken !== grant.fencingToken || current.expiresAtMs <= nowMs) return undefined;
    const renewed = { ...current, expiresAtMs: nowMs + ttlMs };
    this.leases.set(grant.name, renewed);
    return renewed;
  }

  async release(grant: LeaseGrant): Promise<void> {
    if (this.leases.get(grant.name)?.fencingToken === grant.fencingToken) this.leases.delete(grant.name);
  }

  async close(): Promise<void> {
    this.leases.clear();
  }
}
