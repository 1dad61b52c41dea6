import { LeaseKeeper, type LeaseKeeperOptions } from "../../stores/lease/index.js";
import { InsightsFencedOffError, MINUTE_MS } from "../../stores/insights/index.js";
import type { RecordQuarantine } from "../quarantine.js";
import { ConsumerRunner, type ConsumerJournal } from "../runner.js";
import { InsightsConsumer, type InsightsConsumerOptions } from "./insights-consumer.js";

/** The one lease of a cluster's Insights consumer. */
export const INSIGHTS_LEASE = "insights";

/** After a minute's close, room for the calls just before it to be journaled and counted. */
const CLOSE_SLACK_MS = 500;

/**
 * When the wall clock next closes a minute (its end plus the detection delay, decision 0019 point 4),
 * strictly after `nowMs`: the run judges then, so a live anomaly is not reported up to a tick late.
 */
export function nextCloseMs(nowMs: number, delayMs: number): number {
  const offsetMs = delayMs + CLOSE_SLACK_MS;
  return (Math.floor((nowMs - offsetMs) / MINUTE_MS) + 1) * MINUTE_MS + offsetMs;
}

export interface InsightsRunOptions extends Omit<InsightsConsumerOptions, "fencingToken" | "journal"> {
  readonly journal: ConsumerJournal & InsightsConsumerOptions["journal"];
  readonly quarantine: RecordQuarantine;
  /** How often the wall clock closes minutes (decision 0019, point 4). */
  readonly tickMs: number;
  readonly report: (error: unknown) => void;
  /** Cluster mode: only the holder of INSIGHTS_LEASE runs, under its fencing token. Absent: always runs. */
  readonly leases?: LeaseKeeperOptions;
}

interface Running {
  readonly consumer: InsightsConsumer;
  readonly runner: ConsumerRunner;
}

/**
 * Runs the Insights consumer and its wall-clock timer: always on an embedded server; in a cluster only
 * on the node holding `insights` (decision 0019, point 8), whose fencing token the store checks on
 * every write, so a paused holder that lost the lease writes nothing when it wakes. Other nodes keep
 * trying to take the lease over (it lapses 15 s after its holder died) and show the shared cursor.
 */
export class InsightsRun {
  private readonly keeper: LeaseKeeper | undefined;
  private running: Running | undefined;
  private sharedCursor = 0;
  private timers: NodeJS.Timeout[] = [];
  private closeTimer: NodeJS.Timeout | undefined;
  private busy = false;
  private ticking = false;
  private closed = false;
  private stopping: Promise<void> = Promise.resolve();
  /** The lease pass under way: close() waits for it, so a take-over it is making cannot outlive the close. */
  private keeping: Promise<void> = Promise.resolve();

  constructor(private readonly options: InsightsRunOptions) {
    this.keeper = options.leases === undefined ? undefined : new LeaseKeeper(options.leases);
  }

  async start(): Promise<void> {
    this.sharedCursor = await this.options.store.cursor();
    if (this.keeper === undefined) await this.run(undefined);
    else {
      await this.keep().catch(this.options.report);
      this.every(this.keeper.renewEveryMs, () => this.keep());
    }
    this.every(this.options.tickMs, () => this.tick());
    this.atEachClose();
  }

  /** Judges right after each minute closes, besides every tick. */
  private atEachClose(): void {
    if (this.closed) return;
    const nowMs = this.options.clock.nowMs();
    const waitMs = nextCloseMs(nowMs, this.options.settings.detectionDelayMs) - nowMs;
    this.closeTimer = setTimeout(() => {
      void this.tick().catch(this.options.report);
      this.atEachClose();
    }, waitMs);
    this.closeTimer.unref();
  }

  /** The consumer's position: this node's runner's, else the one the store holds (another node's). */
  cursor(): number {
    return this.running?.runner.cursorSeq() ?? this.sharedCursor;
  }

  lastError(): string | undefined {
    const error = this.running?.runner.lastError;
    return error === undefined ? undefined : String(error);
  }

  leasesHeld(): string[] {
    return this.keeper?.heldKeys() ?? [];
  }

  private every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => void task().catch(this.options.report), ms);
    timer.unref();
    this.timers.push(timer);
  }

  private async keep(): Promise<void> {
    if (this.busy || this.closed || this.keeper === undefined) return;
    this.busy = true;
    this.keeping = this.keepOnce(this.keeper).finally(() => (this.busy = false));
    await this.keeping;
  }

  private async keepOnce(keeper: LeaseKeeper): Promise<void> {
    if (this.running !== undefined) await keeper.renewAll(() => this.lose(), this.options.report);
    else await this.takeOver(keeper);
    if (this.running === undefined) this.sharedCursor = await this.options.store.cursor();
  }

  private async takeOver(keeper: LeaseKeeper): Promise<void> {
    await this.stopping;
    const grant = await keeper.acquire(INSIGHTS_LEASE);
    if (grant === undefined || this.closed) return;
    try {
      await this.run(grant.fencingToken);
    } catch (error) {
      // A claim refused (a later holder) or a database gone: give the lease back, try again later.
      await keeper.release(INSIGHTS_LEASE).catch(() => keeper.forget(INSIGHTS_LEASE));
      throw error;
    }
  }

  private async run(fencingToken: number | undefined): Promise<void> {
    const { quarantine, report, store, journal, clock, settings, enabledTypes } = this.options;
    const consumer = new InsightsConsumer({
      ...{ store, journal, clock, settings, enabledTypes },
      ...(fencingToken !== undefined ? { fencingToken } : {}),
    });
    const runner = new ConsumerRunner(this.options.journal, consumer, {
      quarantine: fencedOffRefused(quarantine),
      onFailure: (error) => {
        if (error instanceof InsightsFencedOffError) this.lose();
        else report(new Error(`Insights failed (retried): ${error instanceof Error ? error.message : String(error)}`));
      },
    });
    await runner.start();
    this.running = { consumer, runner };
  }

  /** The wall-clock pass, where the consumer runs. */
  private async tick(): Promise<void> {
    const running = this.running;
    if (running === undefined || this.ticking) return;
    this.ticking = true;
    try {
      await running.consumer.tick();
    } catch (error) {
      if (error instanceof InsightsFencedOffError) this.lose();
      else throw error;
    } finally {
      this.ticking = false;
    }
  }

  /** Stops at once (after the batch in flight): the lease passed on or lapsed; the next holder resumes from the store. */
  private lose(): void {
    this.keeper?.forget(INSIGHTS_LEASE);
    const running = this.running;
    this.running = undefined;
    if (running !== undefined) this.stopping = stop(running).catch(this.options.report);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    clearTimeout(this.closeTimer);
    await this.keeping.catch(() => undefined);
    const running = this.running;
    this.running = undefined;
    await this.stopping;
    if (running !== undefined) await stop(running);
    await this.keeper?.release(INSIGHTS_LEASE).catch(this.options.report);
  }
}

async function stop(running: Running): Promise<void> {
  await running.runner.stop();
  await running.consumer.close();
}

/** A batch refused because the lease passed on is no record the store refuses: never quarantined. */
function fencedOffRefused(quarantine: RecordQuarantine): RecordQuarantine {
  return {
    add: (entry, error) => {
      if (error instanceof InsightsFencedOffError) return Promise.reject(error);
      return quarantine.add(entry, error);
    },
  };
}
