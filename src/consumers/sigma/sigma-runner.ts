import { LeaseKeeper, type LeaseKeeperOptions } from "../../stores/lease/index.js";
import { SigmaFencedOffError } from "../../stores/sigma/index.js";
import type { ConsumerStatus } from "../consumer.js";
import type { RecordQuarantine } from "../quarantine.js";
import { ConsumerRunner, type ConsumerJournal } from "../runner.js";
import { SIGMA_CONSUMER, SigmaConsumer, type SigmaConsumerOptions } from "./sigma-consumer.js";

/** The one lease of a cluster's Sigma consumer: one node evaluates the rules. */
const SIGMA_LEASE = "sigma";

export interface SigmaRunnerOptions extends Omit<SigmaConsumerOptions, "fencingToken" | "journal"> {
  readonly journal: ConsumerJournal;
  readonly quarantine: RecordQuarantine;
  readonly report: (error: unknown) => void;
}

interface Running {
  readonly consumer: SigmaConsumer;
  readonly runner: ConsumerRunner;
}

/**
 * Runs the Sigma consumer: at once (embedded), or while this node holds the `sigma` lease (cluster
 * mode, `leases` given): every `renewEveryMs` the holder renews and another node tries to take the
 * lease over; each commit carries the grant's fencing token, so a holder that paused past its lease
 * writes nothing when it wakes (SigmaFencedOffError) and stops. The new holder resumes from the
 * committed cursor and rebuilds correlation state by replay.
 */
export class SigmaRunner {
  private running: Running | undefined;
  private readonly keeper: LeaseKeeper | undefined;
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> = Promise.resolve();
  private ticking = false;
  private closed = false;
  private stopping: Promise<void> = Promise.resolve();
  /** The committed cursor as the store has it, while another node runs the consumer. */
  private sharedCursor = 0;

  constructor(
    private readonly options: SigmaRunnerOptions,
    leases?: LeaseKeeperOptions,
  ) {
    this.keeper = leases !== undefined ? new LeaseKeeper(leases) : undefined;
  }

  async start(): Promise<void> {
    this.sharedCursor = await this.options.store.cursor();
    if (this.keeper === undefined) {
      await this.run(undefined);
      return;
    }
    const keeper = this.keeper;
    const run = (): void => {
      if (this.ticking || this.closed) return;
      this.ticking = true;
      this.tick = this.keep(keeper)
        .catch(this.options.report)
        .finally(() => (this.ticking = false));
    };
    run();
    this.timer = setInterval(run, keeper.renewEveryMs);
    this.timer.unref();
  }

  status(): ConsumerStatus {
    const running = this.running;
    const cursor = running !== undefined ? running.consumer.committedSeq() : this.sharedCursor;
    const lastError = running?.runner.lastError;
    return {
      name: SIGMA_CONSUMER,
      cursor,
      neededFromSeq: cursor + 1,
      ...(running !== undefined ? { progressSeq: running.runner.cursorSeq() } : {}),
      ...(lastError !== undefined ? { lastError: String(lastError) } : {}),
    };
  }

  leasesHeld(): string[] {
    return this.keeper !== undefined && this.running !== undefined ? [SIGMA_LEASE] : [];
  }

  health(): Record<string, unknown> {
    const consumer = this.running?.consumer;
    return {
      evaluating: consumer !== undefined,
      ...(consumer !== undefined
        ? { replayedEntries: consumer.replayedEntries, storedMatches: consumer.storedMatches }
        : {}),
      ...this.options.evaluation.facts().counts,
    };
  }

  private async keep(keeper: LeaseKeeper): Promise<void> {
    if (this.running !== undefined) {
      await keeper.renewAll(() => this.lose(), this.options.report);
      return;
    }
    this.sharedCursor = await this.options.store.cursor();
    await this.stopping;
    const grant = await keeper.acquire(SIGMA_LEASE);
    if (grant === undefined || this.closed) return;
    try {
      await this.run(grant.fencingToken);
    } catch (error) {
      await keeper.release(SIGMA_LEASE).catch(() => keeper.forget(SIGMA_LEASE));
      throw error;
    }
  }

  private async run(fencingToken: number | undefined): Promise<void> {
    const { journal, quarantine } = this.options;
    const consumer = new SigmaConsumer({ ...this.options, ...(fencingToken !== undefined ? { fencingToken } : {}) });
    const runner = new ConsumerRunner(journal, consumer, {
      quarantine: fencedOffRefused(quarantine),
      onFailure: (error) => {
        if (error instanceof SigmaFencedOffError) this.lose();
        else this.options.report(new Error(`Sigma evaluation failed (retried): ${messageOf(error)}`));
      },
    });
    await runner.start();
    this.running = { consumer, runner };
  }

  /** Stops evaluating (after the batch in flight): the lease passed on or lapsed. */
  private lose(): void {
    const running = this.running;
    this.running = undefined;
    this.keeper?.forget(SIGMA_LEASE);
    if (running !== undefined) this.stopping = running.runner.stop().catch(this.options.report);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.tick;
    await this.stopping;
    await this.running?.runner.stop();
    this.running = undefined;
    await this.keeper?.release(SIGMA_LEASE).catch(this.options.report);
  }
}

/** A batch refused because the lease passed on is no record the store refuses: never quarantined. */
function fencedOffRefused(quarantine: RecordQuarantine): RecordQuarantine {
  return {
    async add(entry, error) {
      if (error instanceof SigmaFencedOffError) throw error;
      await quarantine.add(entry, error);
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
