import { LeaseKeeper, type LeaseKeeperOptions } from "../stores/lease/index.js";

export interface LeasedSingletonOptions {
  /** The lease's name: one holder in the cluster runs the work. */
  readonly key: string;
  readonly leases: LeaseKeeperOptions;
  /** Starts the work on this node (rejecting gives the lease back, to be tried again later). */
  readonly start: () => Promise<void>;
  /** Stops the work: the lease was lost, or this node is stopping. */
  readonly stop: () => Promise<void>;
  readonly report: (error: unknown) => void;
}

/**
 * Cluster mode: work that must run on one node at a time (at-least-once work whose duplicates are
 * harmless, so no fencing token is needed by its writes). Every `renewEveryMs` the holder renews
 * and another node tries to take the lease, which lapses 15 s after its holder died.
 */
export class LeasedSingleton {
  private readonly keeper: LeaseKeeper;
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> = Promise.resolve();
  private ticking = false;
  private running = false;
  private closed = false;

  constructor(private readonly options: LeasedSingletonOptions) {
    this.keeper = new LeaseKeeper(options.leases);
  }

  begin(): void {
    const run = (): void => {
      if (this.ticking || this.closed) return;
      this.ticking = true;
      this.tick = this.keep()
        .catch(this.options.report)
        .finally(() => (this.ticking = false));
    };
    run();
    this.timer = setInterval(run, this.keeper.renewEveryMs);
    this.timer.unref();
  }

  held(): boolean {
    return this.running;
  }

  leasesHeld(): string[] {
    return this.keeper.heldKeys();
  }

  private async keep(): Promise<void> {
    if (this.running) {
      await this.keeper.renewAll(() => void this.halt(), this.options.report);
      return;
    }
    const grant = await this.keeper.acquire(this.options.key);
    if (grant === undefined || this.closed) return;
    try {
      await this.options.start();
      this.running = true;
    } catch (error) {
      await this.keeper.release(this.options.key).catch(() => this.keeper.forget(this.options.key));
      throw error;
    }
  }

  private async halt(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.options.stop().catch(this.options.report);
  }

  /** Stops trying, stops the work, and gives the lease up so another node takes over without waiting. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.tick;
    await this.halt();
    await this.keeper.release(this.options.key).catch(this.options.report);
  }
}
