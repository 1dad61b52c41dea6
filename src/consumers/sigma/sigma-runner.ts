import type { LeaseKeeperOptions } from "../../stores/lease/index.js";
import { LeasedWork } from "../leased-work.js";
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
 * mode, `leases` given; LeasedWork): each commit carries the grant's fencing token, so a holder
 * that paused past its lease writes nothing when it wakes (SigmaFencedOffError) and stops. The new
 * holder resumes from the committed cursor and rebuilds correlation state by replay.
 */
export class SigmaRunner {
  private running: Running | undefined;
  private readonly work: LeasedWork | undefined;
  /** The committed cursor as the store has it, while another node runs the consumer. */
  private sharedCursor = 0;

  constructor(
    private readonly options: SigmaRunnerOptions,
    leases?: LeaseKeeperOptions,
  ) {
    this.work =
      leases === undefined
        ? undefined
        : new LeasedWork({
            key: SIGMA_LEASE,
            leases,
            start: (fencingToken) => this.run(fencingToken),
            stop: () => this.stopRunning(),
            afterPass: async (held) => {
              if (!held) this.sharedCursor = await options.store.cursor();
            },
            report: options.report,
          });
  }

  async start(): Promise<void> {
    this.sharedCursor = await this.options.store.cursor();
    if (this.work === undefined) await this.run(undefined);
    else this.work.begin();
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
    return this.work?.leasesHeld() ?? [];
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

  private async run(fencingToken: number | undefined): Promise<void> {
    const { journal, quarantine } = this.options;
    const consumer = new SigmaConsumer({ ...this.options, ...(fencingToken !== undefined ? { fencingToken } : {}) });
    const runner = new ConsumerRunner(journal, consumer, {
      quarantine: fencedOffRefused(quarantine),
      onFailure: (error) => {
        if (error instanceof SigmaFencedOffError) this.work?.lose();
        else this.options.report(new Error(`Sigma evaluation failed (retried): ${messageOf(error)}`));
      },
    });
    await runner.start();
    this.running = { consumer, runner };
  }

  /** Stops evaluating (after the batch in flight): the lease passed on or lapsed, or the node stops. */
  private async stopRunning(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.runner.stop();
  }

  async close(): Promise<void> {
    if (this.work !== undefined) await this.work.close();
    else await this.stopRunning();
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
