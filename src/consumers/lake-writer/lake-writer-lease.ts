import { performance } from "node:perf_hooks";
import type { LeaseGrant, LeaseStore } from "../../stores/lease/index.js";
import type { LakeFence } from "../../lake/catalog/index.js";

/** The one lease of the Lake's singleton work in cluster mode (decision 0015). */
const LAKE_WRITER_LEASE = "lake-writer";
/** The most issue #13 allows: a dead holder's Lake work waits at most this long for another node. */
const TTL_MS = 15_000;

/**
 * Cluster mode: the live Lake writer, compaction, retention, the bucket janitor and imports run only
 * on the node holding `lake-writer`. `tick()` (every third of the TTL) acquires the lease when it is
 * free and renews it when held; `onGained`/`onLost` start and stop the work. The grant is also the
 * catalog's fence: `current()` answers undefined once the lease surely lapsed on this node's clock,
 * and PostgreSQL checks the token in each commit's transaction besides.
 */
export class LakeWriterLease implements LakeFence {
  readonly ttlMs: number;
  private grant: LeaseGrant | undefined;
  /** When the lease surely lapsed, on this node's monotonic clock (the TTL counted from the request). */
  private deadlineMs = 0;
  private ticking = false;
  private stopped = false;

  constructor(
    private readonly leases: LeaseStore,
    readonly holder: string,
    private readonly events: {
      onGained: (grant: LeaseGrant) => Promise<void>;
      /** `graceful`: this node is stopping and may still finish its work (flush) before the lease goes. */
      onLost: (reason: string, graceful: boolean) => Promise<void>;
      report: (error: unknown) => void;
    },
    ttlMs = TTL_MS,
  ) {
    this.ttlMs = Math.min(TTL_MS, ttlMs);
  }

  get renewEveryMs(): number {
    return Math.max(1, Math.floor(this.ttlMs / 3));
  }

  held(): boolean {
    return this.current() !== undefined;
  }

  current(): LeaseGrant | undefined {
    if (this.grant === undefined || performance.now() >= this.deadlineMs) return undefined;
    return this.grant;
  }

  /** One acquire-or-renew; overlapping calls (a slow database) are not doubled. */
  async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      if (this.grant === undefined) await this.tryAcquire();
      else await this.renew();
    } finally {
      this.ticking = false;
    }
  }

  private async tryAcquire(): Promise<void> {
    const askedAtMs = performance.now();
    let grant: LeaseGrant | undefined;
    try {
      grant = await this.leases.acquire(LAKE_WRITER_LEASE, this.holder, this.ttlMs);
    } catch (error) {
      this.events.report(error);
      return;
    }
    if (grant === undefined) return;
    if (this.stopped) {
      // Granted while this node was stopping: give it back at once.
      await this.leases.release(grant).catch(this.events.report);
      return;
    }
    this.grant = grant;
    this.deadlineMs = askedAtMs + this.ttlMs;
    try {
      await this.events.onGained(grant);
    } catch (error) {
      // The work could not start: give the lease up so another node can try.
      this.events.report(error);
      await this.lose("the Lake work could not start here", { release: true, graceful: false });
    }
  }

  private async renew(): Promise<void> {
    const held = this.grant!;
    const askedAtMs = performance.now();
    try {
      const renewed = await this.leases.renew(held, this.ttlMs);
      if (this.grant !== held) return; // released meanwhile (this node is stopping)
      if (renewed !== undefined) {
        this.grant = renewed;
        this.deadlineMs = askedAtMs + this.ttlMs;
        return;
      }
      await this.lose("the lease passed to another node", { release: false, graceful: false });
    } catch (error) {
      this.events.report(error);
      if (performance.now() >= this.deadlineMs)
        await this.lose("the lease could not be renewed", { release: false, graceful: false });
    }
  }

  private async lose(reason: string, how: { release: boolean; graceful: boolean }): Promise<void> {
    const grant = this.grant;
    // Still the fence while a graceful stop flushes; never once the lease is known lost.
    if (!how.graceful) this.grant = undefined;
    await this.events.onLost(reason, how.graceful).catch(this.events.report);
    this.grant = undefined;
    if (how.release && grant !== undefined) await this.leases.release(grant).catch(this.events.report);
  }

  /** Stops the work (the caller's onLost) and gives the lease up at once, so another node need not wait. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.grant !== undefined) await this.lose("this node is stopping", { release: true, graceful: true });
  }
}
