import type { JournalEntry } from "../../journal/journal.js";
import type { Clock } from "../../lib/clock.js";
import type { NewSigmaMatch, SigmaMatchStore, SigmaRuleStore } from "../../stores/sigma/index.js";
import type { Consumer } from "../consumer.js";
import type { ConsumerJournal } from "../runner.js";
import type { SigmaEvaluation } from "./sigma-evaluation.js";

/** The consumer's name: its cursor, `/health`, the quarantine. */
export const SIGMA_CONSUMER = "sigma";
/** Entries replayed at most to rebuild correlation state after a restart. */
const REPLAY_ENTRIES_MAX = 1_000_000;
/** Records reach the journal this long after their eventTime at most, for the replay's start (CloudTrail's delivery delay). */
const REPLAY_SLACK_MS = 15 * 60_000;
const REPLAY_BATCH = 1000;

export interface SigmaConsumerOptions {
  readonly store: SigmaMatchStore & Pick<SigmaRuleStore, "all" | "revision">;
  readonly journal: Pick<ConsumerJournal, "read">;
  readonly evaluation: SigmaEvaluation;
  readonly clock: Clock;
  /** Cluster mode: the Sigma lease's token, which every commit carries. */
  readonly fencingToken?: number;
}

/**
 * Sigma rules live on the journal (docs/reference/sigma.md, "Live rules"): offers each record to its
 * account's rules and commits the matches with the cursor in one transaction. Correlation state is
 * in memory: at start, and after a batch failed half-way, it is rebuilt by replaying the journal
 * from the longest correlation timespan before the cursor, keeping none of the replay's matches
 * (each was stored with the batch that made it; the store's key on rule id and eventIDs guards too).
 */
export class SigmaConsumer implements Consumer {
  readonly name = SIGMA_CONSUMER;
  private cursor = 0;
  private revision = -1;
  /** The evaluator's state may be ahead of the cursor (a batch failed after offering records). */
  private stale = true;
  replayedEntries = 0;
  storedMatches = 0;

  constructor(private readonly options: SigmaConsumerOptions) {}

  committedSeq(): number {
    return this.cursor;
  }

  async loadCursor(): Promise<number> {
    this.cursor = await this.options.store.cursor();
    await this.reloadRules();
    await this.replay();
    return this.cursor;
  }

  async handle(batch: readonly JournalEntry[]): Promise<void> {
    await this.reloadRules();
    if (this.stale) await this.replay();
    const matches = await this.evaluate(batch);
    const last = batch.at(-1)!.seq;
    this.stale = true;
    this.storedMatches += await this.options.store.commit(matches, last, this.options.fencingToken);
    this.cursor = Math.max(this.cursor, last);
    this.stale = false;
  }

  /** A write that changes nothing a reader sees: the cursor where it is, under the lease's token. */
  async probe(): Promise<void> {
    await this.options.store.commit([], this.cursor, this.options.fencingToken);
  }

  private async evaluate(batch: readonly JournalEntry[]): Promise<NewSigmaMatch[]> {
    const { evaluation, clock } = this.options;
    // Without a rule, records are not even parsed.
    if (!evaluation.facts().hasRules) return [];
    return evaluation.evaluate(
      batch.map(({ seq, json }) => ({ seq, json })),
      clock.nowMs(),
    );
  }

  /** Reads the account rules again when they changed; an account whose rules changed starts its state anew. */
  private async reloadRules(): Promise<void> {
    const revision = await this.options.store.revision();
    if (revision === this.revision) return;
    await this.options.evaluation.setStoredRules(await this.options.store.all());
    this.revision = revision;
  }

  /** Rebuilds correlation state from the entries up to the cursor; their matches are already stored. */
  private async replay(): Promise<void> {
    const { evaluation, journal } = this.options;
    await evaluation.reset();
    this.stale = false;
    const spanMs = evaluation.facts().longestTimespanMs;
    if (spanMs === 0 || this.cursor === 0) return;
    let seq = await this.replayStart(spanMs);
    while (seq <= this.cursor) {
      const entries = (await journal.read(seq, Math.min(REPLAY_BATCH, this.cursor - seq + 1))).filter(
        (entry) => entry.seq <= this.cursor,
      );
      if (entries.length === 0) break;
      await this.evaluate(entries);
      this.replayedEntries += entries.length;
      seq = entries.at(-1)!.seq + 1;
    }
  }

  /**
   * The first seq appended within `spanMs` (and the delivery slack) before the cursor's entry, by
   * binary search on append time; never more than REPLAY_ENTRIES_MAX entries back.
   */
  private async replayStart(spanMs: number): Promise<number> {
    const at = async (seq: number) => (await this.options.journal.read(seq, 1))[0];
    const last = await at(this.cursor);
    if (last === undefined) return this.cursor + 1;
    const fromMs = last.appendedAtMs - spanMs - REPLAY_SLACK_MS;
    let low = Math.max(1, this.cursor - REPLAY_ENTRIES_MAX + 1);
    let high = this.cursor;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      const entry = await at(middle);
      // Entries before the journal's first (retention removed them) read as the first one.
      if (entry === undefined || entry.appendedAtMs >= fromMs) high = middle;
      else low = middle + 1;
    }
    return low;
  }
}
