import { LeaseKeeper, type LeaseKeeperOptions } from "../stores/lease/index.js";

export interface LeasedWorkOptions {
  /** The lease's name: one holder in the cluster runs the work. */
  readonly key: string;
  readonly leases: LeaseKeeperOptions;
  /**
   * Starts the work on this node under the grant's fencing token (work whose writes a store fences
   * carries it; rejecting gives the lease back, to be tried again at the next pass).
   */
  readonly start: (fencingToken: number) => Promise<void>;
  /** Stops the work: the lease was lost or lapsed, or this node is stopping. */
  readonly stop: () => Promise<void>;
  /** After each pass, held or not: a holder's upkeep, or what a follower shows of the holder's progress. */
  readonly afterPass?: (held: boolean) => Promise<void>;
  readonly report: (error: unknown) => void;
}

/**
 * Cluster mode: work that runs on one node at a time. Every `renewEveryMs` the holder renews its
 * lease and every other node tries to take it over; a lease lapses 15 s after its holder died. Work
 * whose writes carry the fencing token calls lose() when a store refuses one (the lease passed on
 * while this node paused), and stops at once.
 */
export class LeasedWork {
  private readonly keeper: LeaseKeeper;
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> = Promise.resolve();
  private passing = false;
  private running = false;
  private closed = false;
  private stopping: Promise<void> = Promise.resolve();

  constructor(private readonly options: LeasedWorkOptions) {
    this.keeper = new LeaseKeeper(options.leases);
  }

  /** Takes the lease if it is free and keeps trying, or renewing, until close(). */
  begin(): void {
    const run = (): void => {
      if (this.passing || this.closed) return;
      this.passing = true;
      this.pass = this.keep()
        .catch(this.options.report)
        .finally(() => (this.passing = false));
    };
    run();
    this.timer = setInterval(run, this.keeper.renewEveryMs);
    this.timer.unref();
  }

  /** The lease pass under way (the first one, right after begin()): for a start that waits for it. */
  passed(): Promise<void> {
    return this.pass;
  }

  /** Whether the work runs on this node now. */
  held(): boolean {
    return this.running;
  }

  leasesHeld(): string[] {
    return this.keeper.heldKeys();
  }

  /**
   * Stops the work at once (not awaited: the work's own failure hook may call this, and its stop
   * waits for that hook's loop); the node that holds the lease now resumes from the committed state.
   */
  lose(): void {
    if (!this.running) return;
    this.running = false;
    this.keeper.forget(this.options.key);
    this.stopping = this.options.stop().catch(this.options.report);
  }

  private async keep(): Promise<void> {
    if (this.running) await this.keeper.renewAll(() => this.lose(), this.options.report);
    else await this.takeOver();
    await this.options.afterPass?.(this.running);
  }

  private async takeOver(): Promise<void> {
    await this.stopping;
    const grant = await this.keeper.acquire(this.options.key);
    if (grant === undefined || this.closed) return;
    try {
      await this.options.start(grant.fencingToken);
      this.running = true;
    } catch (error) {
      // A claim refused (a later holder) or a store gone: give the lease back, try again later.
      await this.keeper.release(this.options.key).catch(() => this.keeper.forget(this.options.key));
      throw error;
    }
  }

  /** Stops trying, stops the work, and gives the lease up so another node takes over without waiting. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.pass;
    await this.stopping;
    if (this.running) {
      this.running = false;
      await this.options.stop().catch(this.options.report);
    }
    await this.keeper.release(this.options.key).catch(this.options.report);
  }
}
