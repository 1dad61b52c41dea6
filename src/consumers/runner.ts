import type { Journal, JournalEntry } from "../journal/journal.js";
import { isTransientError } from "../lib/transient-error.js";
import type { Consumer } from "./consumer.js";
import type { RecordQuarantine } from "./quarantine.js";

export interface ConsumerRunnerOptions {
  /** Entries handed to one handle() call. */
  readonly batchEntriesMax?: number;
  /**
   * Once caught up and woken by an append, wait this long before reading, so that the appends that
   * follow join one batch. Each batch costs a consumer a fixed amount whatever its size (a block
   * inflated, a SQLite commit, often with an fsync on the event loop); under a trickle of
   * single-record appends (every API call's own record) that cost was paid per record
   * (docs/decisions/0020-ingest-cost.md). 0 for a consumer a caller waits on (Event history: LookupEvents
   * waits for the index to reach the journal's head).
   */
  readonly coalesceMs?: number;
  /** First retry delay after a failed batch; doubles per consecutive failure. */
  readonly retryDelayMsInitial?: number;
  readonly retryDelayMsMax?: number;
  /**
   * Where records the consumer's store refuses are set aside. Without it a refused record is
   * retried forever, as any failure.
   */
  readonly quarantine?: RecordQuarantine;
  /** Told of every failed attempt (after which the runner backs off), for the consumer's own log. */
  readonly onFailure?: (error: unknown) => void;
}

/** What the runner needs of a journal: sequential reads and append notifications (a worker's reader too). */
export type ConsumerJournal = Pick<Journal, "read" | "waitForAppend" | "headSeq">;

const DEFAULTS = { batchEntriesMax: 1000, coalesceMs: 25, retryDelayMsInitial: 100, retryDelayMsMax: 30_000 };

/** A batch that failed this many times in a row is searched for the records its store refuses. */
const ISOLATE_AFTER_FAILURES = 2;

/**
 * Feeds one consumer from the journal (docs/specs/consumer.md): batches in seq order from the
 * consumer's own cursor + 1, the same batch again after a failure, waiting for appends when caught up.
 * The runner keeps no durable state of its own; the consumer owns its cursor.
 */
export class ConsumerRunner {
  private readonly options: Required<Omit<ConsumerRunnerOptions, "quarantine" | "onFailure">> &
    Pick<ConsumerRunnerOptions, "quarantine" | "onFailure">;
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
          if (this.options.coalesceMs > 0) await sleep(this.options.coalesceMs, signal);
          continue;
        }
        await this.apply(batch);
        this.failureCount = 0;
        this.error = undefined;
      } catch (error) {
        this.error = error;
        this.failureCount++;
        this.options.onFailure?.(error);
        await sleep(this.retryDelayMs(), signal);
      }
    }
  }

  /**
   * Hands the batch to the consumer. Once the same batch has failed before, and not for a reason that
   * names a dependency (isTransientError), it is searched for the records the store refuses.
   */
  private async apply(batch: readonly JournalEntry[]): Promise<void> {
    try {
      await this.handle(batch);
    } catch (error) {
      const { quarantine } = this.options;
      const probe = this.consumer.probe?.bind(this.consumer);
      if (quarantine === undefined || probe === undefined) throw error;
      if (this.failureCount + 1 < ISOLATE_AFTER_FAILURES || isTransientError(error)) throw error;
      await this.isolate(batch, quarantine, probe);
    }
  }

  private async handle(part: readonly JournalEntry[]): Promise<void> {
    await this.consumer.handle(part);
    this.cursor = part.at(-1)!.seq;
  }

  /**
   * Handles the batch in parts, halving a part that fails and doubling after one that succeeds, so
   * that a record the store refuses ends up alone. Such a record is quarantined (durably, before the
   * cursor moves past it) only when the store works around it (refusedByWorkingStore); any other
   * failure ends the search and the batch is retried after the back-off, from where it stopped.
   */
  private async isolate(
    batch: readonly JournalEntry[],
    quarantine: RecordQuarantine,
    probe: () => Promise<void>,
  ): Promise<void> {
    let next = 0;
    let size = Math.ceil(batch.length / 2);
    while (next < batch.length) {
      if (this.abort.signal.aborted) throw new Error(`Consumer ${this.consumer.name} stopped.`);
      const part = batch.slice(next, next + size);
      try {
        await this.handle(part);
        next += part.length;
        size *= 2;
      } catch (error) {
        if (isTransientError(error)) throw error;
        if (part.length > 1) {
          size = Math.ceil(part.length / 2);
          continue;
        }
        const refusal = await this.refusedByWorkingStore(part[0]!, probe);
        if (refusal !== undefined) {
          await quarantine.add(part[0]!, refusal);
          this.cursor = part[0]!.seq;
        }
        next += 1;
        size = 1;
      }
    }
  }

  /**
   * Whether the store refuses `entry` although it works: the consumer's probe succeeds, the entry
   * fails alone again, and the probe succeeds once more. Returns that failure; undefined when the
   * entry was handled this time. Throws when the store itself fails (the probe, or a transient error).
   */
  private async refusedByWorkingStore(entry: JournalEntry, probe: () => Promise<void>): Promise<unknown> {
    await probe();
    try {
      await this.handle([entry]);
      return undefined;
    } catch (error) {
      if (isTransientError(error)) throw error;
      await probe();
      return error;
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
