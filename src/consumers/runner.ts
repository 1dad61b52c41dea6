import type { Journal } from "../journal/journal.js";
import type { Consumer } from "./consumer.js";

export interface ConsumerRunnerOptions {
  /** Entries handed to one handle() call. */
  readonly batchEntriesMax?: number;
  /** First retry delay after a failed batch; doubles per consecutive failure. */
  readonly retryDelayMsInitial?: number;
  readonly retryDelayMsMax?: number;
}

/** What the runner needs of a journal: sequential reads and append notifications (a worker's reader too). */
export type ConsumerJournal = Pick<Journal, "read" | "waitForAppend" | "headSeq">;

const DEFAULTS = { batchEntriesMax: 1000, retryDelayMsInitial: 100, retryDelayMsMax: 30_000 };

/**
 * Feeds one consumer from the journal (docs/specs/consumer.md): batches in seq order from the
 * consumer's own cursor + 1, the same batch again after a failure, waiting for appends when caught up.
 * The runner keeps no durable state of its own; the consumer owns its cursor.
 */
export class ConsumerRunner {
  private readonly options: Required<ConsumerRunnerOptions>;
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private cursor = 0;
  private failureCount = 0;
  private error: unknown = undefined;

  constructor(
    private readonly journal: ConsumerJournal,
    private readonly consumer: Consumer,
    options: ConsumerRunnerOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Loads the consumer's cursor (rejecting if it cannot) and starts the loop in the background. */
  async start(): Promise<void> {
    if (this.loop !== null) throw new Error(`Consumer ${this.consumer.name} is already running.`);
    this.cursor = await this.consumer.loadCursor();
    this.loop = this.run();
  }

  /** Highest seq the consumer has applied, as the runner knows it. */
  cursorSeq(): number {
    return this.cursor;
  }

  cursorLagRecords(): number {
    return Math.max(0, this.journal.headSeq() - this.cursor);
  }

  /** The error of the last failed attempt, cleared by the next successful batch. */
  get lastError(): unknown {
    return this.error;
  }

  /** Failed attempts since the last successful batch. */
  get failuresInRow(): number {
    return this.failureCount;
  }

  /** Stops after the in-flight batch (if any) has finished; never interrupts handle(). */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        const batch = await this.journal.read(this.cursor + 1, this.options.batchEntriesMax);
        if (batch.length === 0) {
          await this.journal.waitForAppend(this.cursor, signal);
          continue;
        }
        await this.consumer.handle(batch);
        this.cursor = batch.at(-1)!.seq;
        this.failureCount = 0;
        this.error = undefined;
      } catch (error) {
        this.error = error;
        this.failureCount++;
        await sleep(this.retryDelayMs(), signal);
      }
    }
  }

  private retryDelayMs(): number {
    const { retryDelayMsInitial, retryDelayMsMax } = this.options;
    return Math.min(retryDelayMsMax, retryDelayMsInitial * 2 ** Math.min(this.failureCount - 1, 30));
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
