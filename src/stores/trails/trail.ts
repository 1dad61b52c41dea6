/**
 * A trail (spec §5.3): its configuration as CreateTrail/UpdateTrail/PutEventSelectors leave it, and its
 * delivery status as GetTrailStatus reports it. The control plane (src/control-plane/trails/) owns the
 * store; the delivery consumer (src/consumers/trail-delivery/) reads configurations and writes status.
 */
import type { AdvancedEventSelector, BasicEventSelector } from "../../selectors/selector-types.js";

export interface TrailConfig {
  readonly accountId: string;
  readonly name: string;
  readonly homeRegion: string;
  /** `arn:aws:cloudtrail:<homeRegion>:<accountId>:trail/<name>` */
  readonly trailArn: string;
  readonly s3BucketName: string;
  readonly s3KeyPrefix?: string;
  readonly snsTopicName?: string;
  readonly includeGlobalServiceEvents: boolean;
  readonly isMultiRegionTrail: boolean;
  readonly isOrganizationTrail: boolean;
  readonly logFileValidationEnabled: boolean;
  readonly kmsKeyId?: string;
  readonly cloudWatchLogsLogGroupArn?: string;
  readonly cloudWatchLogsRoleArn?: string;
  /** Exactly one of the two is set; a new trail has the default basic selector (all management events). */
  readonly eventSelectors?: readonly BasicEventSelector[];
  readonly advancedEventSelectors?: readonly AdvancedEventSelector[];
  readonly hasCustomEventSelectors: boolean;
  /** PutInsightSelectors (spec §8.1); absent or empty: Insights are off. */
  readonly insightSelectors?: readonly InsightSelector[];
  readonly tags: ReadonlyArray<{ Key: string; Value?: string }>;
  readonly isLogging: boolean;
  readonly startLoggingTimeMs?: number;
  readonly stopLoggingTimeMs?: number;
  readonly createdAtMs: number;
  /**
   * Journal seq from which this trail delivers: set by StartLogging to the journal head at that
   * moment, so a trail records what happens while it logs, not the past.
   */
  readonly deliverFromSeq?: number;
  /**
   * Journal head when StopLogging ran: the trail's final delivery covers entries up to here, plus
   * the StopLogging call's own record, and nothing journaled later.
   */
  readonly deliverUntilSeq?: number;
}

/** One Insight selector of a trail, as PutInsightSelectors stored it; no EventCategories means Management. */
export interface InsightSelector {
  readonly InsightType: "ApiCallRateInsight" | "ApiErrorRateInsight";
  readonly EventCategories?: ReadonlyArray<"Management" | "Data">;
}

export interface TrailDeliveryStatus {
  readonly latestDeliveryTimeMs?: number;
  readonly latestDeliveryAttemptTimeMs?: number;
  readonly latestDeliveryError?: string;
  readonly latestDigestDeliveryTimeMs?: number;
  readonly latestDigestDeliveryError?: string;
  /** The last SNS notification that reached every confirmed subscriber (docs/reference/sns.md). */
  readonly latestNotificationTimeMs?: number;
  readonly latestNotificationAttemptTimeMs?: number;
  /** Why the last notification failed after its retries; cleared by the next one that succeeds. */
  readonly latestNotificationError?: string;
}

/**
 * A trail DeleteTrail removed while it still had events to deliver (it was logging, or stopped with
 * a drain that may not have finished): kept, invisible to the API, until a delivery manager holding
 * its lease delivered what was journaled up to `deliverUntilSeq` and wrote the final digest, as for
 * a stop (docs/decisions/0012-fenced-delivery-state.md, point 6).
 */
export interface DeletedTrail {
  /** The configuration as it was stored when DeleteTrail removed it. */
  readonly trail: TrailConfig;
  /** The journal head at DeleteTrail, or the StopLogging's boundary when the trail was stopped. */
  readonly deliverUntilSeq: number;
  /** Whether `deliverUntilSeq` is a StopLogging's, whose own record is then the trail's last event. */
  readonly stopLogging: boolean;
}

/**
 * What must still be delivered of `trail` when DeleteTrail removes it with the journal at
 * `journalHeadSeq`; undefined for a trail that never logged. A trail stopped and already drained
 * still gets one: only its delivery state knows it is drained, and the manager then just forgets it.
 */
export function deletedTrailOf(trail: TrailConfig, journalHeadSeq: number): DeletedTrail | undefined {
  if (trail.isLogging) return { trail, deliverUntilSeq: journalHeadSeq, stopLogging: false };
  if (trail.deliverUntilSeq !== undefined) return { trail, deliverUntilSeq: trail.deliverUntilSeq, stopLogging: true };
  return undefined;
}

/** Options of `TrailStore.delete`. */
export interface DeleteTrailOptions {
  /**
   * The journal head at DeleteTrail: a trail with events left to deliver is kept as a DeletedTrail
   * (atomically with its removal) until its drain finished. Without it nothing is kept.
   */
  readonly journalHeadSeq?: number;
}

/**
 * Looks at the account's trails as stored when a write is decided (the trail being written among
 * them when it exists) and throws to refuse the write, e.g. the trails-per-region quota.
 */
export type AccountTrailsCheck = (accountTrails: readonly TrailConfig[]) => void;

/** What `create` rejects with when the account already has a trail of that name (created by any node). */
export class TrailAlreadyExistsError extends Error {
  constructor(
    readonly accountId: string,
    readonly trailName: string,
  ) {
    super(`Trail ${trailName} already exists for customer: ${accountId}`);
    this.name = "TrailAlreadyExistsError";
  }
}

/**
 * Trail configurations keyed by (account, name), and one delivery status per trail ARN. Every read
 * and write is asynchronous so a networked backend (PostgreSQL) can implement it; an acknowledged
 * write is durable when its promise resolves.
 */
export interface TrailStore {
  /** Every trail, or one account's, ordered by account then name. */
  list(accountId?: string): Promise<TrailConfig[]>;
  get(accountId: string, name: string): Promise<TrailConfig | undefined>;
  /**
   * Stores a new trail, or rejects with TrailAlreadyExistsError when the name is taken. The name test
   * and `check` are atomic with the insert against every other `create` and checked `put` of the
   * account, on any node: of concurrent creates of one name exactly one wins, and a quota that
   * `check` enforces holds however many creates race.
   */
  create(trail: TrailConfig, check?: AccountTrailsCheck): Promise<void>;
  /**
   * Creates or replaces the trail named (trail.accountId, trail.name). With `check`, the write is
   * serialised with the account's other checked writes and creates, as in `create`.
   */
  put(trail: TrailConfig, check?: AccountTrailsCheck): Promise<void>;
  /**
   * Removes the trail and its status; a trail that does not exist is not an error and is no change.
   * With `journalHeadSeq`, a trail that still has events to deliver (deletedTrailOf) is kept, in the
   * same atomic step, for `deletedTrails`; `list` and `get` never show it, and a trail of the same
   * name can be created at once.
   */
  delete(accountId: string, name: string, options?: DeleteTrailOptions): Promise<void>;
  /** Deleted trails whose drain no manager finished yet, every node's, by ARN then `deliverUntilSeq`. */
  deletedTrails(): Promise<DeletedTrail[]>;
  /** Forgets a deleted trail once its drain finished; one already forgotten is no change. */
  forgetDeleted(trailArn: string, deliverUntilSeq: number): Promise<void>;
  /** The trail's status so far; `{}` for a trail that never delivered or does not exist. */
  status(trailArn: string): Promise<TrailDeliveryStatus>;
  /**
   * Merges `update` into the status: a member present with `undefined` clears it. Ignored for a
   * trail that does not exist, so a delivery finishing after DeleteTrail leaves nothing behind.
   */
  updateStatus(trailArn: string, update: Partial<TrailDeliveryStatus>): Promise<void>;
  /**
   * Called after every put, and every delete that removed a trail, so the delivery side can start or
   * stop per-trail consumers. A subscription rather than a promise: the embedded backend calls
   * listeners right after its own writes, before the write's promise resolves; the cluster backend
   * also calls them from change notifications (LISTEN/NOTIFY) for other nodes' writes, eventually, and
   * once more after its listening connection was lost and came back. A listener that throws affects neither the write nor the other listeners.
   */
  onChange(listener: () => void): void;
}
