import { performance } from "node:perf_hooks";
import { LeaseKeeper, type LeaseKeeperOptions } from "../../stores/lease/index.js";
import type { RecordQuarantine } from "../quarantine.js";
import type { ConsumerJournal } from "../runner.js";
import type { PostgresEventHistory } from "./postgres-event-history.js";
import { IndexerFencedOffError } from "./postgres-posting-store.js";

/** The one lease of a cluster's Event history indexer. */
export const INDEXER_LEASE = "event-history-indexer";

export interface LeasedIndexerOptions {
  readonly history: PostgresEventHistory;
  readonly journal: ConsumerJournal;
  readonly leases: LeaseKeeperOptions;
  /** How often the holder deletes postings past retention (also once on taking the lease). */
  readonly pruneEveryMs: number;
  /** Where the holder sets aside a record the index refuses, so the records after it are indexed. */
  readonly quarantine: RecordQuarantine;
  readonly report: (error: unknown) => void;
}

/**
 * Cluster mode (decision 0013, "One leased indexer"): of all nodes only the holder of
 * `event-history-indexer` follows the journal, writes postings and prunes; every batch carries the
 * lease's fencing token, so a holder that paused past its lease writes nothing when it wakes. Every
 * `renewEveryMs` the holder renews, another node tries to take the lease over (it lapses 15 s after
 * the holder died) and meanwhile reads the shared cursor, which its lookups and `/health` show.
 */
export class LeasedIndexer {
  private readonly keeper: LeaseKeeper;
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> = Promise.resolve();
  private ticking = false;
  private stopping: Promise<void> = Promise.resolve();
  private lastPruneMs = -Infinity;
  private closed = false;

  constructor(private readonly options: LeasedIndexerOptions) {
    this.keeper = new LeaseKeeper(options.leases);
  }

  /** Takes the lease if it is free and keeps trying, or renewing, until close(). */
  start(): void {
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

  /** [INDEXER_LEASE] while this node indexes, else nothing: for `/health`'s role. */
  leasesHeld(): string[] {
    return this.keeper.heldKeys();
  }

  private async keep(): Promise<void> {
    const { history } = this.options;
    if (history.following()) await this.keeper.renewAll(() => this.lose(), this.options.report);
    else await this.takeOver();
    if (history.following() && performance.now() - this.lastPruneMs >= this.options.pruneEveryMs) {
      this.lastPruneMs = performance.now();
      await history.prune();
    }
    if (!history.following()) await history.refreshCursor();
  }

  /** Follows the journal from the committed cursor under a new grant, when the lease is free. */
  private async takeOver(): Promise<void> {
    await this.stopping;
    const grant = await this.keeper.acquire(INDEXER_LEASE);
    if (grant === undefined || this.closed) return;
    try {
      await this.options.history.follow(this.options.journal, {
        fencingToken: grant.fencingToken,
        quarantine: fencedOffRefused(this.options.quarantine),
        onFailure: (error) => {
          if (error instanceof IndexerFencedOffError) this.lose();
          else this.options.report(new Error(`Event history indexing failed (retried): ${messageOf(error)}`));
        },
      });
      this.lastPruneMs = -Infinity;
    } catch (error) {
      // A claim refused (a later holder) or a database gone: give the lease back, try again later.
      await this.keeper.release(INDEXER_LEASE).catch(() => this.keeper.forget(INDEXER_LEASE));
      throw error;
    }
  }

  /**
   * Stops indexing at once (after the batch in flight), when the lease passed to another node or
   * lapsed; that node resumes from the committed cursor. `/health` shows the lease moving.
   */
  private lose(): void {
    this.keeper.forget(INDEXER_LEASE);
    // Not awaited here: the runner's own failure hook calls this, and stop() waits for that loop.
    this.stopping = this.options.history.unfollow().catch(this.options.report);
  }

  /** Stops trying, stops indexing, and gives the lease up so another node takes over without waiting. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.tick;
    await this.stopping;
    await this.options.history.unfollow();
    await this.keeper.release(INDEXER_LEASE).catch(this.options.report);
  }
}

/**
 * A batch refused because the lease passed on is no record the index refuses: the runner's search
 * must not quarantine it (it would skip the record on this node's side only), but stop and let the
 * failure hook give the lease up.
 */
function fencedOffRefused(quarantine: RecordQuarantine): RecordQuarantine {
  return {
    async add(entry, error) {
      if (error instanceof IndexerFencedOffError) throw error;
      await quarantine.add(entry, error);
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
