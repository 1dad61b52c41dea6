import { performance } from "node:perf_hooks";
import type { LeaseKeeperOptions } from "../../stores/lease/index.js";
import { LeasedWork } from "../leased-work.js";
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
 * lease's fencing token, so a holder that paused past its lease writes nothing when it wakes. The
 * other nodes keep trying to take the lease over (LeasedWork) and meanwhile read the shared cursor,
 * which their lookups and `/health` show.
 */
export class LeasedIndexer {
  private readonly work: LeasedWork;
  private lastPruneMs = -Infinity;

  constructor(private readonly options: LeasedIndexerOptions) {
    this.work = new LeasedWork({
      key: INDEXER_LEASE,
      leases: options.leases,
      start: (fencingToken) => this.follow(fencingToken),
      stop: () => options.history.unfollow(),
      afterPass: (held) => this.afterPass(held),
      report: options.report,
    });
  }

  /** Takes the lease if it is free and keeps trying, or renewing, until close(). */
  start(): void {
    this.work.begin();
  }

  /** [INDEXER_LEASE] while this node indexes, else nothing: for `/health`'s role. */
  leasesHeld(): string[] {
    return this.work.leasesHeld();
  }

  /** Follows the journal from the committed cursor under a new grant. */
  private async follow(fencingToken: number): Promise<void> {
    await this.options.history.follow(this.options.journal, {
      fencingToken,
      quarantine: fencedOffRefused(this.options.quarantine),
      onFailure: (error) => {
        if (error instanceof IndexerFencedOffError) this.work.lose();
        else this.options.report(new Error(`Event history indexing failed (retried): ${messageOf(error)}`));
      },
    });
    this.lastPruneMs = -Infinity;
  }

  private async afterPass(held: boolean): Promise<void> {
    if (!held) {
      await this.options.history.refreshCursor();
      return;
    }
    if (performance.now() - this.lastPruneMs < this.options.pruneEveryMs) return;
    this.lastPruneMs = performance.now();
    await this.options.history.prune();
  }

  /** Stops trying, stops indexing, and gives the lease up so another node takes over without waiting. */
  async close(): Promise<void> {
    await this.work.close();
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
