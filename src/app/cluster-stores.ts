import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { SettingsError, type ServerSettings } from "../config/settings.js";
import { DedupStore } from "../journal/dedup-store.js";
import { openJetStreamJournal, type JetStreamJournal } from "../journal/jetstream-journal.js";
import { openPostgresLakeCatalog, type LakeCatalog } from "../lake/catalog/index.js";
import type { Clock } from "../lib/clock.js";
import type { MasterKey } from "../lib/secret-envelope.js";
import { openPostgresBucketOwnerStore } from "../stores/bucket-owners/index.js";
import { openPostgresCursorStores, type PostgresCursorStores } from "../stores/cursors/index.js";
import { openPostgresLeaseStore, type LeaseStore } from "../stores/lease/index.js";
import { openPostgresDatabase, type PostgresDatabase } from "../stores/postgres/index.js";
import { openPostgresPrincipalStore, type PrincipalStore } from "../stores/principals/index.js";
import { openPostgresQuarantineStore, type QuarantineStore } from "../stores/quarantine/index.js";
import { openPostgresSigmaStore, type SigmaStore } from "../stores/sigma/index.js";
import { openPostgresSavedQueryStore, type SavedQueryStore } from "../stores/saved-queries/index.js";
import { openPostgresSnsStore, type SnsStore } from "../stores/sns/index.js";
import { openPostgresSigningKeyStore, type SigningKeyStore } from "../stores/signing-keys/index.js";
import {
  openPostgresDeliveryStateStore,
  openPostgresTrailStore,
  type PostgresDeliveryStateStore,
  type PostgresTrailStore,
} from "../stores/trails/index.js";
import { s3ObjectStoreOf, type Buckets } from "./buckets.js";
import { clusterMasterKey } from "./cluster-secrets.js";
import { ingestModule, liveTailModule, proxyModule } from "./modules/capture-modules.js";
import { clusterEventHistoryModule, clusterTrailsModule } from "./modules/cluster-modules.js";
import { clusterLakeModule } from "./modules/cluster-lake-module.js";
import { clusterInsightsModule } from "./modules/insights-module.js";
import { quarantineModule } from "./modules/quarantine-module.js";
import { snsModule } from "./modules/sns-module.js";
import { clusterEventsModule } from "./modules/events-module.js";
import { clusterSigmaModule } from "./modules/sigma-module.js";
import type { CairnModule } from "./registry.js";

/** The server's modules on cluster stores, `nodeId` the lease holder. */
export function clusterModules(
  stores: Pick<ClusterStores, "db" | "journal" | "trails" | "deliveryStates" | "leases" | "lakeCatalog" | "masterKey">,
  nodeId: string,
): readonly CairnModule[] {
  return [
    clusterEventHistoryModule(stores, nodeId, () => stores.journal.latestSeq()),
    clusterTrailsModule(stores, nodeId),
    clusterInsightsModule(stores, nodeId),
    clusterLakeModule(stores, nodeId),
    snsModule,
    clusterEventsModule(stores, nodeId),
    clusterSigmaModule(stores.leases, nodeId),
    ingestModule,
    liveTailModule,
    quarantineModule,
    proxyModule,
  ];
}

/** CAIRN_NODE_ID, else the host name and port (a random suffix for --port 0), as lease holder and in /health. */
export function clusterNodeId(settings: Pick<ServerSettings, "nodeId" | "port">): string {
  if (settings.nodeId !== undefined) return settings.nodeId;
  const host =
    hostname()
      .replace(/[^A-Za-z0-9_.-]/g, "-")
      .slice(0, 48) || "node";
  return `${host}-${settings.port === 0 ? randomUUID().slice(0, 8) : settings.port}`;
}

/** Every store of a cluster node, each on its cluster backend; the data dir holds the journal's key index only. */
export interface ClusterStores {
  /** The one pool every PostgreSQL store of this node shares; closed once, last. */
  readonly db: PostgresDatabase;
  readonly journal: JetStreamJournal;
  readonly masterKey: { readonly key: MasterKey; readonly origin: string };
  readonly principals: PrincipalStore;
  readonly signingKeys: SigningKeyStore;
  readonly buckets: Buckets;
  readonly quarantine: QuarantineStore;
  readonly sns: SnsStore;
  readonly sigma: SigmaStore;
  readonly savedQueries: SavedQueryStore;
  readonly leases: LeaseStore;
  readonly trails: PostgresTrailStore;
  readonly deliveryStates: PostgresDeliveryStateStore;
  readonly cursors: PostgresCursorStores;
  readonly lakeCatalog: LakeCatalog;
  close(): Promise<void>;
}

/**
 * Opens one node's cluster stores: the PostgreSQL pool (each store runs its own migrations under
 * the database's advisory lock, so nodes starting together are safe), the JetStream journal with
 * this node's key index in the data dir (decision 0010), and the buckets on CAIRN_S3_ENDPOINT. What
 * opened before a failure is closed again, so a refused start leaves no connection behind.
 */
export async function openClusterStores(settings: ServerSettings, clock: Clock): Promise<ClusterStores> {
  const { databaseUrl, journalUrl, s3Endpoint } = settings;
  if (databaseUrl === undefined || journalUrl === undefined || s3Endpoint === undefined)
    throw new SettingsError(["cluster mode needs CAIRN_DATABASE_URL, CAIRN_JOURNAL_URL and CAIRN_S3_ENDPOINT"]);
  // Never <data-dir>/master.key: every node must open what any node sealed.
  const resolved = await clusterMasterKey(settings);
  const closers: Array<() => Promise<void>> = [];
  const db = openPostgresDatabase({ url: databaseUrl });
  closers.push(() => db.close());
  try {
    const opened = async <T extends { close(): Promise<void> }>(store: Promise<T>): Promise<T> => {
      const value = await store;
      closers.push(() => value.close());
      return value;
    };
    const principals = await opened(openPostgresPrincipalStore(db, { masterKey: resolved.key }));
    const signingKeys = await openPostgresSigningKeyStore(db, { clock, masterKey: resolved.key });
    const owners = await opened(openPostgresBucketOwnerStore(db));
    const quarantine = await opened(openPostgresQuarantineStore(db));
    const sns = await opened(openPostgresSnsStore(db));
    const sigma = await opened(openPostgresSigmaStore(db));
    const savedQueries = await opened(openPostgresSavedQueryStore(db));
    const leases = await opened(openPostgresLeaseStore(db));
    const trails = await opened(openPostgresTrailStore(db));
    const deliveryStates = await opened(openPostgresDeliveryStateStore(db));
    const cursors = await openPostgresCursorStores(db);
    const lakeCatalog = await opened(openPostgresLakeCatalog(db));
    await mkdir(settings.dataDir, { recursive: true, mode: 0o700 });
    const journal = await opened(
      openJetStreamJournal({
        servers: journalUrl,
        stream: settings.journalStream,
        replicas: settings.journalReplicas,
        clock,
        keyIndex: DedupStore.open(join(settings.dataDir, "journal-keys.sqlite")),
      }),
    );
    const store = s3ObjectStoreOf(settings, s3Endpoint);
    const buckets: Buckets = { store, embedded: undefined, owners };
    const close = () => closeInReverse(closers);
    return {
      ...{ db, journal, principals, signingKeys, buckets, quarantine, sns, sigma, leases, trails, deliveryStates },
      ...{ cursors, lakeCatalog, savedQueries, masterKey: resolved, close },
    };
  } catch (error) {
    await closeInReverse(closers).catch(() => undefined);
    throw error;
  }
}

/** Closes the stores before the pool they share; every closer runs even when one fails. */
async function closeInReverse(closers: ReadonlyArray<() => Promise<void>>): Promise<void> {
  let first: unknown;
  for (const close of [...closers].reverse()) {
    try {
      await close();
    } catch (error) {
      first ??= error;
    }
  }
  if (first !== undefined) throw first;
}
