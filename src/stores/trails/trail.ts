/**
 * A trail (spec §5.3): its configuration as CreateTrail/UpdateTrail/PutEventSelectors leave it, and its
 * delivery status as GetTrailStatus reports it. The control plane (src/trails/) owns the store; the
 * delivery consumer (src/consumers/trails/) reads configurations and writes status.
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

export interface TrailDeliveryStatus {
  readonly latestDeliveryTimeMs?: number;
  readonly latestDeliveryAttemptTimeMs?: number;
  readonly latestDeliveryError?: string;
  readonly latestDigestDeliveryTimeMs?: number;
  readonly latestDigestDeliveryError?: string;
}

export interface TrailStore {
  list(accountId?: string): TrailConfig[];
  get(accountId: string, name: string): TrailConfig | undefined;
  put(trail: TrailConfig): void;
  delete(accountId: string, name: string): void;
  status(trailArn: string): TrailDeliveryStatus;
  updateStatus(trailArn: string, update: Partial<TrailDeliveryStatus>): void;
  /** Called after every put/delete, so the delivery side can start or stop per-trail consumers. */
  onChange(listener: () => void): void;
}
