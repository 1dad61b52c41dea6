import type { Clock } from "../../lib/clock.js";
import type { EdsInsightCatalog } from "../insights/eds-insight-selectors.js";
import type { BucketOwnerStore } from "../../stores/bucket-owners/index.js";
import type { ObjectStore } from "../../stores/objects/index.js";
import type { SnsStore } from "../../stores/sns/index.js";
import type { TrailStore } from "../../stores/trails/index.js";

export const DEFAULT_MAX_TRAILS_PER_REGION = 5;

export interface TrailOperationDeps {
  readonly trails: TrailStore;
  readonly objectStore: ObjectStore;
  /** Which account owns each bucket: a trail delivers only to its own account's buckets. */
  readonly owners: BucketOwnerStore;
  readonly clock: Clock;
  /**
   * The journal's head seq as the journal has it now (Journal.latestSeq: another node's appends
   * included): StartLogging delivers from the next record on, StopLogging up to it.
   */
  readonly journalHeadSeq: () => Promise<number>;
  /**
   * True for the embedded store, which creates a trail's bucket on demand; false for an external S3,
   * where a missing bucket is S3BucketDoesNotExistException as in AWS (Cairn never creates buckets there).
   */
  readonly createMissingBuckets: boolean;
  /**
   * The SNS topics a trail's SnsTopicName may name (docs/reference/sns.md). Without it, every
   * SnsTopicName is InsufficientSnsTopicPolicyException: there is no topic to publish to.
   */
  readonly snsTopics?: Pick<SnsStore, "getTopic">;
  /** The Lake catalog's event data stores, for Put/GetInsightSelectors with EventDataStore; absent: UnsupportedOperationException. */
  readonly eventDataStores?: EdsInsightCatalog;
  /** Trails per region (spec §5.6: 5, not adjustable in AWS). */
  readonly maxTrailsPerRegion?: number;
}
