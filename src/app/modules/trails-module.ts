import { join } from "node:path";
import type { ServerSettings } from "../../config/settings.js";
import type { Journal } from "../../journal/journal.js";
import type { Clock } from "../../lib/clock.js";
import type { OperationHandler } from "../../control-plane/operation.js";
import { createListPublicKeysOperation } from "../../control-plane/list-public-keys.js";
import { startTrailDelivery, type TrailDelivery } from "../../consumers/trail-delivery/trail-delivery-manager.js";
import { compileEventSelectors } from "../../selectors/selector-matcher.js";
import type { ObjectStore } from "../../stores/objects/object-store.js";
import { openFilesystemObjectStore } from "../../stores/objects/filesystem-object-store.js";
import { createS3ObjectStore } from "../../stores/objects/s3-object-store.js";
import { startS3Server, type S3Server } from "../../http/s3-server/start-s3-server.js";
import { openSqliteTrailStore } from "../../stores/trails/sqlite-trail-store.js";
import { openFileDeliveryStateStore } from "../../stores/trails/file-delivery-state-store.js";
import { createTrailOperations } from "../../control-plane/trails/trail-operations.js";

/** What the trails module adds to a running server. */
export interface TrailsModule {
  /** The read-only S3 endpoint over the embedded buckets; absent when trails deliver to an external S3. */
  readonly s3Url?: string;
  readonly objectStoreKind: "embedded" | "s3";
  readonly delivery: TrailDelivery;
  /** Lowest journal seq a logging trail still needs (journal retention must keep it). */
  neededFromSeq(): number;
  close(): Promise<void>;
}

/**
 * Trails (issue "Trails"): the control plane operations, the object store (embedded directory per
 * bucket, or any S3 endpoint), the read-only S3 server over the embedded buckets, and one delivery
 * consumer per logging trail with its digests.
 */
export async function startTrailsModule(deps: {
  settings: ServerSettings;
  journal: Journal;
  clock: Clock;
  operations: Map<string, OperationHandler>;
}): Promise<TrailsModule> {
  const { settings, journal, clock } = deps;
  const embedded =
    settings.s3Endpoint === undefined ? openFilesystemObjectStore(join(settings.dataDir, "buckets")) : undefined;
  const objectStore: ObjectStore =
    embedded ??
    createS3ObjectStore({
      endpoint: settings.s3Endpoint!,
      region: settings.s3Region,
      ...(settings.s3AccessKeyId !== undefined ? { accessKeyId: settings.s3AccessKeyId } : {}),
      ...(settings.s3SecretAccessKey !== undefined ? { secretAccessKey: settings.s3SecretAccessKey } : {}),
      forcePathStyle: settings.s3ForcePathStyle,
    });
  const trails = openSqliteTrailStore(join(settings.dataDir, "control-plane.db"));
  const delivery = await startTrailDelivery({
    journal,
    trails,
    deliveryStates: openFileDeliveryStateStore(settings.dataDir),
    objectStore,
    dataDir: settings.dataDir,
    clock,
    deliveryIntervalSeconds: settings.deliveryIntervalSeconds,
    digestIntervalSeconds: settings.digestIntervalSeconds,
    matcherFor: (trail) => compileEventSelectors(trail),
  });
  for (const [name, handler] of createTrailOperations({
    trails,
    objectStore,
    clock,
    journalHeadSeq: () => journal.headSeq(),
    createMissingBuckets: embedded !== undefined,
  })) {
    deps.operations.set(name, handler);
  }
  deps.operations.set("ListPublicKeys", createListPublicKeysOperation({ keys: delivery.keys }));
  let s3Server: S3Server | undefined;
  if (embedded !== undefined) {
    s3Server = await startS3Server({
      store: embedded,
      host: settings.host,
      port: settings.s3Port,
      listBuckets: () => embedded.listBuckets(),
      region: settings.region,
      clock,
    });
  }
  return {
    ...(s3Server !== undefined ? { s3Url: s3Server.url } : {}),
    objectStoreKind: embedded !== undefined ? "embedded" : "s3",
    delivery,
    neededFromSeq: () => delivery.neededFromSeq(),
    async close() {
      await s3Server?.close();
      await delivery.stop();
      trails.close();
    },
  };
}
