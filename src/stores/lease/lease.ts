/**
 * Leases: which node runs a singleton job (a retention sweep, compaction, a trail's delivery) at a
 * time. A holder acquires a named lease for `ttlMs` and renews it before it lapses; every grant
 * carries a fencing token that grows with each new holder, so a store can refuse the writes of a
 * holder whose lease has passed to another (docs/ARCHITECTURE.md, "Leases").
 */
export interface LeaseGrant {
  readonly name: string;
  readonly holder: string;
  /** Strictly greater than every token granted for this name before. */
  readonly fencingToken: number;
  readonly expiresAtMs: number;
}

export interface LeaseStore {
  /** The lease when it is free, lapsed or already this holder's (then renewed); undefined while another holds it. */
  acquire(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | undefined>;
  /** Extends a lease this holder still holds under `fencingToken`; undefined when it was lost. */
  renew(grant: LeaseGrant, ttlMs: number): Promise<LeaseGrant | undefined>;
  /** Gives the lease up at once (another holder may acquire it without waiting for the TTL). */
  release(grant: LeaseGrant): Promise<void>;
  close(): Promise<void>;
}
