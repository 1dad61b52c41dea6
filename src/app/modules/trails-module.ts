import { join } from "node:path";
import {
  startTrailDelivery,
  type TrailDelivery,
  type TrailLeases,
  type TrailNotify,
} from "../../consumers/trail-delivery/trail-delivery-manager.js";
import { SnsPublisher } from "../../control-plane/sns/index.js";
import { publishTrailNotification } from "../../control-plane/trails/trail-topic.js";
import { createListPublicKeysOperation } from "../../control-plane/list-public-keys.js";
import type { OperationHandler } from "../../control-plane/operation.js";
import { createTrailOperations } from "../../control-plane/trails/trail-operations.js";
import { startS3Server, type S3Server } from "../../http/s3-server/start-s3-server.js";
import { trailRecordMatcher } from "../../consumers/trail-delivery/trail-record-matcher.js";
import { openFileDeliveryStateStore } from "../../stores/trails/file-delivery-state-store.js";
import { openSqliteTrailStore } from "../../stores/trails/sqlite-trail-store.js";
import type { DeliveryStateStore, TrailStore } from "../../stores/trails/index.js";
import type { SnsStore } from "../../stores/sns/index.js";
import { accountObjectStore } from "../../stores/bucket-owners/account-object-store.js";
import { adoptBuckets } from "../buckets.js";
import type { CairnModule, ModuleContext } from "../registry.js";
import { lazyLakeCatalog, type EventDataStoreReader } from "./lazy-lake-catalog.js";

/** Where a node keeps its trails: the embedded server's files, or the cluster's PostgreSQL (leased delivery). */
export interface TrailBackends {
  readonly trails: TrailStore;
  readonly deliveryStates: DeliveryStateStore;
  readonly leases?: TrailLeases;
  /**
   * The SNS topics trails notify (the trails module's own handle on the SNS module's store: the same
   * `sns.db` or PostgreSQL tables). Its POSTs end when `shutdown` is aborted.
   */
  readonly sns: { readonly store: SnsStore; readonly shutdown: AbortSignal };
  /** The Lake catalog's event data stores, for Insight selectors on them (decision 0019). */
  readonly eventDataStores?: EventDataStoreReader;
}

/**
 * The part of the trails module both modes share: one delivery consumer per logging trail with its
 * digests, and the control-plane operations over `backends`. CreateTrail makes a missing bucket only
 * in the embedded buckets; on an external S3 endpoint the bucket must exist.
 */
export async function startTrailsOn(
  context: ModuleContext,
  backends: TrailBackends,
): Promise<{ delivery: TrailDelivery; operations: Array<readonly [string, OperationHandler]> }> {
  const { settings, journal, clock, signingKeys, buckets, quarantine } = context;
  const { store: objectStore, embedded, owners } = buckets;
  const delivery = await startTrailDelivery({
    journal,
    trails: backends.trails,
    objectStore,
    objectStoreFor: (trail) => accountObjectStore(objectStore, owners, trail.accountId),
    keys: signingKeys,
    deliveryStates: backends.deliveryStates,
    clock,
    deliveryIntervalSeconds: settings.deliveryIntervalSeconds,
    digestIntervalSeconds: settings.digestIntervalSeconds,
    matcherFor: (trail) => trailRecordMatcher(trail),
    quarantine,
    ...(backends.leases !== undefined ? { leases: backends.leases } : {}),
    notify: trailNotifier(context, backends.sns),
  });
  const operations = createTrailOperations({
    trails: backends.trails,
    objectStore,
    owners,
    clock,
    journalHeadSeq: () => journal.latestSeq(),
    createMissingBuckets: embedded !== undefined,
    snsTopics: backends.sns.store,
    ...(backends.eventDataStores !== undefined ? { eventDataStores: backends.eventDataStores } : {}),
  });
  return {
    delivery,
    operations: [...operations, ["ListPublicKeys", createListPublicKeysOperation({ keys: signingKeys })]],
  };
}

/** A trail's SNS notifications go through SNS's own publisher, to the topic checked again at each one. */
function trailNotifier(context: ModuleContext, sns: TrailBackends["sns"]): TrailNotify {
  const publisher = new SnsPublisher({ store: sns.store, shutdown: sns.shutdown, nowMs: () => context.clock.nowMs() });
  return (trail, message) => publishTrailNotification(sns.store, publisher, trail, message);
}

/**
 * Trails (spec §2, §3, §5.3): the control-plane operations, one delivery consumer per logging trail
 * with its digests, and the read-only S3 endpoint over the embedded buckets (signed requests, each
 * account its own buckets).
 */
export const trailsModule: CairnModule = {
  name: "trails",
  async start(context) {
    const { settings, clock, buckets, principals, authorizer } = context;
    const { embedded, owners } = buckets;
    const trails = openSqliteTrailStore(join(settings.dataDir, "control-plane.db"));
    await adoptBuckets(buckets, trails, settings.accountId);
    const shutdown = new AbortController();
    const eventDataStores = lazyLakeCatalog(settings.dataDir);
    const { delivery, operations } = await startTrailsOn(context, {
      trails,
      deliveryStates: openFileDeliveryStateStore(settings.dataDir),
      sns: { store: context.sns, shutdown: shutdown.signal },
      eventDataStores,
    });
    let s3Server: S3Server | undefined;
    if (embedded !== undefined) {
      const listBuckets = () => embedded.listBuckets();
      s3Server = await startS3Server({
        store: embedded,
        host: settings.host,
        port: settings.s3Port,
        listBuckets,
        principals,
        owners,
        authorizer,
        region: settings.region,
        clock,
      });
    }
    return {
      operations,
      consumers: () => delivery.consumers(),
      banner: () => [
        s3Server !== undefined
          ? `  trail buckets:    ${join(settings.dataDir, "buckets")} (read-only S3 endpoint ${s3Server.url})`
          : `  trail buckets:    ${settings.s3Endpoint} (S3)`,
      ],
      ...(s3Server !== undefined ? { endpoints: { s3Url: s3Server.url } } : {}),
      async close() {
        await s3Server?.close();
        shutdown.abort();
        await delivery.stop();
        trails.close();
        await eventDataStores.close();
      },
    };
  },
};
