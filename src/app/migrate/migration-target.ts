import type { ServerSettings } from "../../config/settings.js";
import { JetStreamImport } from "../../journal/jetstream-import.js";
import { openPostgresLakeCatalog, type LakeCatalog } from "../../lake/catalog/index.js";
import { configuredKey, MasterKeyError } from "../../lib/master-key.js";
import type { MasterKey } from "../../lib/secret-envelope.js";
import { openPostgresBucketOwnerStore, type BucketOwnerStore } from "../../stores/bucket-owners/index.js";
import type { ObjectStore } from "../../stores/objects/index.js";
import { s3ObjectStoreOf } from "../buckets.js";
import { openPostgresDatabase, type PostgresDatabase } from "../../stores/postgres/index.js";
import { openPostgresPrincipalStore, type PrincipalStore } from "../../stores/principals/index.js";
import {
  openPostgresDeliveryStateStore,
  openPostgresTrailStore,
  type PostgresDeliveryStateStore,
  type PostgresTrailStore,
} from "../../stores/trails/index.js";

/** The cluster settings `cairn migrate --to-cluster` reads (docs/reference/cluster.md). */
export type ClusterTargetSettings = Pick<
  ServerSettings,
  | "databaseUrl"
  | "journalUrl"
  | "journalStream"
  | "journalReplicas"
  | "s3Endpoint"
  | "s3Region"
  | "s3AccessKeyId"
  | "s3SecretAccessKey"
  | "s3ForcePathStyle"
  | "s3TimeoutMs"
  | "masterKey"
  | "masterKeyFile"
  | "lakeBucket"
>;

/** The cluster's stores, each on its cluster backend, as a node opens them. */
export interface MigrationTarget {
  readonly db: PostgresDatabase;
  readonly masterKey: MasterKey;
  readonly journal: JetStreamImport;
  readonly principals: PrincipalStore;
  readonly owners: BucketOwnerStore;
  readonly trails: PostgresTrailStore;
  readonly deliveryStates: PostgresDeliveryStateStore;
  readonly objects: ObjectStore;
  readonly lakeCatalog: LakeCatalog;
  /** CAIRN_LAKE_BUCKET on the S3 endpoint. */
  readonly lakeBucket: string;
  close(): Promise<void>;
}

/** Opens the cluster's stores (running their schema migrations, as a node's start does). */
export async function openMigrationTarget(settings: ClusterTargetSettings): Promise<MigrationTarget> {
  const { databaseUrl, journalUrl, s3Endpoint } = settings;
  if (databaseUrl === undefined || journalUrl === undefined || s3Endpoint === undefined)
    throw new Error("cairn migrate --to-cluster needs CAIRN_DATABASE_URL, CAIRN_JOURNAL_URL and CAIRN_S3_ENDPOINT.");
  const source = {
    ...(settings.masterKey !== undefined ? { masterKey: settings.masterKey } : {}),
    ...(settings.masterKeyFile !== undefined ? { masterKeyFile: settings.masterKeyFile } : {}),
  };
  // Never a data dir's master.key: the cluster's nodes must open what this seals.
  const resolved = Object.keys(source).length === 0 ? undefined : await configuredKey("", source);
  if (resolved === undefined) throw new MasterKeyError("cluster mode needs CAIRN_MASTER_KEY or CAIRN_MASTER_KEY_FILE.");
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  const db = openPostgresDatabase({ url: databaseUrl });
  closers.push(() => db.close());
  try {
    const principals = await openPostgresPrincipalStore(db, { masterKey: resolved.key });
    closers.push(() => principals.close());
    const owners = await openPostgresBucketOwnerStore(db);
    closers.push(() => owners.close());
    const trails = await openPostgresTrailStore(db);
    closers.push(() => trails.close());
    const deliveryStates = await openPostgresDeliveryStateStore(db);
    closers.push(() => deliveryStates.close());
    const lakeCatalog = await openPostgresLakeCatalog(db);
    closers.push(() => lakeCatalog.close());
    const journal = await JetStreamImport.open({
      servers: journalUrl,
      stream: settings.journalStream,
      replicas: settings.journalReplicas,
    });
    closers.push(() => journal.close());
    const objects = s3ObjectStoreOf(settings, s3Endpoint);
    return {
      ...{ db, masterKey: resolved.key, journal, principals, owners, trails, deliveryStates, objects },
      ...{ lakeCatalog, lakeBucket: settings.lakeBucket, close },
    };
  } catch (error) {
    await close();
    throw error;
  }
}
