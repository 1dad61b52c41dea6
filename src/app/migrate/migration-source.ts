import { existsSync } from "node:fs";
import { join } from "node:path";
import { openFileJournal, type FileJournal } from "../../journal/file-journal.js";
import { lockDataDirectory } from "../../lib/data-directory-lock.js";
import { MasterKeyError, readDataDirectoryKey, type MasterKeySource } from "../../lib/master-key.js";
import type { MasterKey } from "../../lib/secret-envelope.js";
import { openSqliteBucketOwnerStore, type BucketOwnerStore } from "../../stores/bucket-owners/index.js";
import { openFilesystemObjectStore, type FilesystemObjectStore } from "../../stores/objects/index.js";
import { openSqlitePrincipalStore, type PrincipalStore } from "../../stores/principals/index.js";
import { openSqliteQuarantineStore, type QuarantineStore } from "../../stores/quarantine/index.js";
import {
  openFileDeliveryStateStore,
  openSqliteTrailStore,
  type DeliveryStateStore,
  type SqliteTrailStore,
} from "../../stores/trails/index.js";
import { principalsDatabasePath } from "../data-directory-secrets.js";

/** An embedded data directory opened for copying, locked against a server starting on it meanwhile. */
export interface MigrationSource {
  readonly dataDir: string;
  readonly masterKey: MasterKey;
  readonly journal: FileJournal;
  readonly principals: PrincipalStore;
  readonly principalsPath: string;
  readonly trails: SqliteTrailStore;
  readonly deliveryStates: DeliveryStateStore;
  readonly owners: BucketOwnerStore;
  /** The embedded buckets (`<data-dir>/buckets`); absent when the server never kept any there. */
  readonly buckets: FilesystemObjectStore | undefined;
  /** `<data-dir>/quarantine.db`; absent when the server never opened one (it is not created here). */
  readonly quarantine: QuarantineStore | undefined;
  close(): Promise<void>;
}

/** Where to find the key that sealed the data directory's secrets. */
export interface SourceKeyOptions {
  /** `--source-master-key-file`: the key the embedded server was started with, when it is not `<data-dir>/master.key`. */
  readonly masterKeyFile?: string;
  /** The cluster's key, tried last: a data dir sealed with the key the cluster shares. */
  readonly clusterKey: MasterKeySource;
}

/**
 * Opens the data directory the way the stopped server would, after taking its lock (a running
 * server, or another migrate, holds it: refused). Its secrets open with `--source-master-key-file`,
 * else `<data-dir>/master.key`, else the cluster's key, checked against the directory's
 * `master-key-id` as the server checks it.
 */
export async function openMigrationSource(dataDir: string, keys: SourceKeyOptions): Promise<MigrationSource> {
  if (!existsSync(join(dataDir, "journal")))
    throw new Error(`${dataDir} is not a Cairn data directory (it has no journal/).`);
  const lock = lockDataDirectory(dataDir);
  const closers: Array<() => Promise<void>> = [async () => lock.release()];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  try {
    const masterKey = await sourceKey(dataDir, keys);
    const journal = await openFileJournal({ directory: join(dataDir, "journal") });
    closers.push(() => journal.close());
    const principalsPath = principalsDatabasePath(dataDir);
    const principals = openSqlitePrincipalStore(principalsPath, { masterKey });
    closers.push(() => principals.close());
    const trails = openSqliteTrailStore(join(dataDir, "control-plane.db"));
    closers.push(async () => trails.close());
    const owners = openSqliteBucketOwnerStore(join(dataDir, "bucket-owners.db"));
    closers.push(() => owners.close());
    const bucketsDir = join(dataDir, "buckets");
    const buckets = existsSync(bucketsDir) ? openFilesystemObjectStore(bucketsDir) : undefined;
    const deliveryStates = openFileDeliveryStateStore(dataDir);
    const quarantinePath = join(dataDir, "quarantine.db");
    const quarantine = existsSync(quarantinePath) ? openSqliteQuarantineStore(quarantinePath) : undefined;
    if (quarantine !== undefined) closers.push(() => quarantine.close());
    return {
      ...{ dataDir, masterKey, journal, principals, principalsPath, trails, deliveryStates, owners, buckets },
      ...{ quarantine, close },
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function sourceKey(dataDir: string, keys: SourceKeyOptions): Promise<MasterKey> {
  if (keys.masterKeyFile !== undefined) {
    const given = await readDataDirectoryKey(dataDir, { masterKeyFile: keys.masterKeyFile });
    if (given !== undefined) return given;
  }
  const own = await readDataDirectoryKey(dataDir, {});
  if (own !== undefined) return own;
  try {
    const cluster = await readDataDirectoryKey(dataDir, keys.clusterKey);
    if (cluster !== undefined) return cluster;
  } catch (error) {
    if (!(error instanceof MasterKeyError)) throw error;
  }
  throw new MasterKeyError(
    `Neither ${dataDir}/master.key nor the cluster's master key opens its secrets: give the key its server used with --source-master-key-file.`,
  );
}
