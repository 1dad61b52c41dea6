import type { Journal } from "../../journal/journal.js";
import type { LeaseKeeperOptions } from "../../stores/lease/index.js";
import { LeasedWork } from "../leased-work.js";
import { InsightsFencedOffError, MINUTE_MS } from "../../stores/insights/index.js";
import type { RecordQuarantine } from "../quarantine.js";
import { ConsumerRunner, type ConsumerJournal } from "../runner.js";
import { CountInputs } from "./count-inputs.js";
import { InsightsConsumer, type InsightsConsumerOptions } from "./insights-consumer.js";

/**
 * Entries per batch, when that many are waiting (behind, or under load): four ingest batches' worth.
 * The upserts of a batch are per series and minute, not per event, so a larger batch shares them among
 * more events (1,000 → 4,000 bench records: 1.15 → 0.88 rows per event, 6.0 → 4.1 µs of the event
 * loop per event; decision 0020). A batch is read from the journal's head cache when it is recent.
 */
const BATCH_ENTRIES_MAX = 4_000;

/**
 * Once caught up, how long to let appends gather before counting them (the runner's default is 25 ms).
 * Under steady ingest a batch then holds a few ingest batches instead of one, for the same reason as
 * above; a minute is judged only a detection delay (seconds) after it ends, so this adds nothing a
 * user sees.
 */
const COALESCE_MS = 250;

/** The one lease of a cluster's Insights consumer. */
export const INSIGHTS_LEASE = "insights";

/**
 * Appended entries whose count inputs are held until counted: a few of the consumer's batches (it
 * gathers appends for COALESCE_MS), so that one that fell further behind parses, as before.
 */
const INPUT_ENTRIES_MAX = 32_768;

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

export interface InsightsRunOptions extends Omit<InsightsConsumerOptions, "fencingToken" | "journal" | "inputs"> {
  readonly journal: ConsumerJournal & InsightsConsumerOptions["journal"] & Partial<Pick<Journal, "observeAppends">>;
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
  private readonly work: LeasedWork | undefined;
  private running: Running | undefined;
  private sharedCursor = 0;
  private tickTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private ticking = false;
  private closed = false;
  /** What recent appends count as, from the records ingest parsed (decision 0020, third slice). */
  private readonly inputs = new CountInputs(INPUT_ENTRIES_MAX);
  private readonly stopObserving: (() => void) | undefined;

  constructor(private readonly options: InsightsRunOptions) {
    this.stopObserving = options.journal.observeAppends?.((group) => this.inputs.add(group));
    this.work =
      options.leases === undefined
        ? undefined
        : new LeasedWork({
            key: INSIGHTS_LEASE,
            leases: options.leases,
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
    else {
      this.work.begin();
      await this.work.passed();
    }
    this.tickTimer = setInterval(() => void this.tick().catch(this.options.report), this.options.tickMs);
    this.tickTimer.unref();
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
    return this.work?.leasesHeld() ?? [];
  }

  private async run(fencingToken: number | undefined): Promise<void> {
    const { quarantine, report, store, journal, clock, settings, enabledTypes } = this.options;
    const consumer = new InsightsConsumer({
      ...{ store, journal, clock, settings, enabledTypes, inputs: this.inputs },
      ...(fencingToken !== undefined ? { fencingToken } : {}),
    });
    const runner = new ConsumerRunner(this.options.journal, consumer, {
      batchEntriesMax: BATCH_ENTRIES_MAX,
      coalesceMs: COALESCE_MS,
      quarantine: fencedOffRefused(quarantine),
      onFailure: (error) => {
        if (error instanceof InsightsFencedOffError) this.work?.lose();
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
      if (error instanceof InsightsFencedOffError) this.work?.lose();
      else throw error;
    } finally {
      this.ticking = false;
    }
  }

  /** Stops (after the batch in flight): the lease passed on or lapsed, or the node stops; the next holder resumes from the store. */
  private async stopRunning(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    if (running !== undefined) await stop(running);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopObserving?.();
    this.inputs.clear();
    clearInterval(this.tickTimer);
    clearTimeout(this.closeTimer);
    if (this.work !== undefined) await this.work.close();
    else await this.stopRunning();
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
