import { join } from "node:path";
import { startTrailDelivery } from "../../consumers/trail-delivery/trail-delivery-manager.js";
import { createListPublicKeysOperation } from "../../control-plane/list-public-keys.js";
import { createTrailOperations } from "../../control-plane/trails/trail-operations.js";
import { startS3Server, type S3Server } from "../../http/s3-server/start-s3-server.js";
import { compileEventSelectors } from "../../selectors/selector-matcher.js";
import { openFileDeliveryStateStore } from "../../stores/trails/file-delivery-state-store.js";
import { openSqliteTrailStore } from "../../stores/trails/sqlite-trail-store.js";
import { accountObjectStore } from "../../stores/bucket-owners/account-object-store.js";
import { adoptBuckets } from "../buckets.js";
import type { CairnModule } from "../registry.js";

/**
 * Trails (spec §2, §3, §5.3): the control-plane operations, one delivery consumer per logging trail
 * with its digests, and the read-only S3 endpoint over the embedded buckets (signed requests, each
 * account its own buckets).
 */
export const trailsModule: CairnModule = {
  name: "trails",
  async start({ settings, journal, clock, signingKeys, buckets, principals, authorizer, quarantine }) {
    const { store: objectStore, embedded, owners } = buckets;
    const trails = openSqliteTrailStore(join(settings.dataDir, "control-plane.db"));
    await adoptBuckets(buckets, trails, settings.accountId);
    const delivery = await startTrailDelivery({
      journal,
      trails,
      objectStore,
      objectStoreFor: (trail) => accountObjectStore(objectStore, owners, trail.accountId),
      keys: signingKeys,
      deliveryStates: openFileDeliveryStateStore(settings.dataDir),
      clock,
      deliveryIntervalSeconds: settings.deliveryIntervalSeconds,
      digestIntervalSeconds: settings.digestIntervalSeconds,
      matcherFor: (trail) => compileEventSelectors(trail),
      quarantine,
    });
    const operations = createTrailOperations({
      trails,
      objectStore,
      owners,
      clock,
      journalHeadSeq: () => journal.headSeq(),
      createMissingBuckets: embedded !== undefined,
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
      operations: [...operations, ["ListPublicKeys", createListPublicKeysOperation({ keys: signingKeys })]],
      consumers: () => delivery.consumers(),
      banner: () => [
        s3Server !== undefined
          ? `  trail buckets:    ${join(settings.dataDir, "buckets")} (read-only S3 endpoint ${s3Server.url})`
          : `  trail buckets:    ${settings.s3Endpoint} (S3)`,
      ],
      ...(s3Server !== undefined ? { endpoints: { s3Url: s3Server.url } } : {}),
      async close() {
        await s3Server?.close();
        await delivery.stop();
        trails.close();
      },
    };
  },
};
