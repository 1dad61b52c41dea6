/**
 * The Lake catalog of a cluster node (decision 0015): the PostgreSQL catalog records each Parquet
 * file by its key in the lake bucket (`<eds-id>/eventdate=YYYY-MM-DD/<name>.parquet`), and this
 * view turns keys into this node's local paths (`<lakeDir>/<key>`) and back, so the writer, imports,
 * compaction and queries keep working on local files. What it adds to every file change:
 * - a file counts only once committed: every file of a commit is uploaded first, then the catalog
 *   transaction runs (files + keys + cursor); a live or import file is first renamed with a random
 *   suffix, so two writers (a zombie and the new lease holder) never upload different bytes under
 *   one key;
 * - after each commit, swap, forget and purge, the Hive symlink manifest of every touched partition
 *   is written again from the catalog (`<eds-id>/_symlink_format_manifest/eventdate=…/manifest`),
 *   by a conditional PUT (or DELETE) on the ETag read before the catalog, so a stale list never
 *   replaces a newer one;
 * - replaced and forgotten files are recorded in `cairn_lake_retired` BEFORE the catalog forgets
 *   them (the record is withdrawn when a swap answers false), and the janitor deletes them from the
 *   bucket once the grace period has passed and no commit lists them.
 */
import { randomBytes } from "node:crypto";
import { readFile, rename, rm } from "node:fs/promises";
import { KeyedQueue } from "../../lib/keyed-queue.js";
import { ObjectStoreError, PRECONDITION_FAILED, type ObjectStore } from "../../stores/objects/index.js";
import { migrate, type Migration, type PostgresDatabase } from "../../stores/postgres/index.js";
import type {
  CatalogDocument,
  CatalogFile,
  CommittedFile,
  DocumentTable,
  EventDataStore,
  ImportFailure,
  LakeCatalog,
} from "../catalog/index.js";
import { isParquetKey, type LakeFileCache } from "./lake-file-cache.js";

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "lake on s3",
    sql: `CREATE TABLE cairn_lake_retired (
            key TEXT COLLATE "C" PRIMARY KEY,
            retired_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
          );
          CREATE TABLE cairn_lake_query_cancels (
            query_id TEXT PRIMARY KEY,
            requested_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
          )`,
  },
];

/** Where the Lake's objects go: the bucket on the nodes' S3 endpoint (CAIRN_LAKE_BUCKET). */
export interface LakeBucket {
  readonly store: ObjectStore;
  readonly bucket: string;
}

const MANIFEST_DIR = "_symlink_format_manifest";
/** Reads and conditional writes of one manifest before giving up: each lost one means another writer wrote. */
const MANIFEST_ATTEMPTS = 5;

/** The key of a partition's Hive symlink manifest (the layout Delta Lake writes for Athena/Presto/Trino). */
export function manifestKey(edsId: string, partition: string): string {
  return `${edsId}/${MANIFEST_DIR}/${partition}/manifest`;
}

/** A manifest's content: one `s3://` URI a line for each committed file of the partition, in key order. */
export function manifestBody(bucket: string, keys: readonly string[]): Buffer {
  return Buffer.from(keys.map((key) => `s3://${bucket}/${key}\n`).join(""));
}

/** `<eds-id>/eventdate=…` of a Parquet key. */
function partitionOf(key: string): { edsId: string; partition: string } {
  const [edsId = "", partition = ""] = key.split("/");
  return { edsId, partition };
}

export interface JanitorReport {
  readonly retiredDeleted: number;
  readonly orphansDeleted: number;
}

export class S3LakeCatalog implements LakeCatalog {
  private readonly manifests = new KeyedQueue();
  /** Manifests are written conditionally until the endpoint answers NotImplemented to a condition. */
  private conditional = true;

  constructor(
    private readonly inner: LakeCatalog,
    private readonly db: PostgresDatabase,
    private readonly bucket: LakeBucket,
    readonly cache: LakeFileCache,
  ) {}

  private keyOf = (path: string): string => this.cache.keyOf(path);
  private pathOf = (key: string): string => this.cache.pathOf(key);

  // Unchanged: stores, cursor, keys, documents, import failures.
  putStore = (store: EventDataStore): Promise<void> => this.inner.putStore(store);
  store = (id: string): Promise<EventDataStore | undefined> => this.inner.store(id);
  stores = (accountId?: string): Promise<EventDataStore[]> => this.inner.stores(accountId);
  cursor = (): Promise<number> => this.inner.cursor();
  hasKeys = (edsId: string, keys: readonly Buffer[]): Promise<boolean[]> => this.inner.hasKeys(edsId, keys);
  putDocument = <T extends CatalogDocument>(table: DocumentTable, document: T): Promise<void> =>
    this.inner.putDocument(table, document);
  document = <T extends CatalogDocument>(table: DocumentTable, id: string, accountId: string): Promise<T | undefined> =>
    this.inner.document<T>(table, id, accountId);
  findDocument = <T extends CatalogDocument>(table: DocumentTable, id: string): Promise<T | undefined> =>
    this.inner.findDocument<T>(table, id);
  documents = <T extends CatalogDocument>(table: DocumentTable, accountId?: string): Promise<T[]> =>
    this.inner.documents<T>(table, accountId);
  deleteDocument = (table: DocumentTable, id: string, accountId: string): Promise<void> =>
    this.inner.deleteDocument(table, id, accountId);
  addImportFailures = (importId: string, failures: readonly ImportFailure[]): Promise<void> =>
    this.inner.addImportFailures(importId, failures);
  clearImportFailures = (importId: string): Promise<void> => this.inner.clearImportFailures(importId);
  importFailures = (importId: string, offset: number, limit: number): Promise<ImportFailure[]> =>
    this.inner.importFailures(importId, offset, limit);

  async close(): Promise<void> {
    await this.inner.close();
  }

  async committedPaths(): Promise<Set<string>> {
    return new Set([...(await this.inner.committedPaths())].filter(isParquetKey).map(this.pathOf));
  }

  async storeFiles(edsId: string): Promise<string[]> {
    return (await this.inner.storeFiles(edsId)).filter(isParquetKey).map(this.pathOf);
  }

  async allFiles(): Promise<CatalogFile[]> {
    return (await this.inner.allFiles())
      .filter((file) => isParquetKey(file.path))
      .map((file) => ({ ...file, path: this.pathOf(file.path) }));
  }

  /** Upload, then commit: a file is in the catalog only once the bucket holds it. */
  async commitFiles(files: readonly CommittedFile[], cursor?: number): Promise<void> {
    const moved: Array<{ path: string; size: number }> = [];
    try {
      const committed: CommittedFile[] = [];
      for (const file of files) {
        const unique = file.path.replace(/\.parquet$/, `-${randomBytes(4).toString("hex")}.parquet`);
        await rename(file.path, unique);
        const size = await this.upload(unique);
        moved.push({ path: unique, size });
        committed.push({ ...file, path: this.keyOf(unique) });
      }
      await this.inner.commitFiles(committed, cursor);
    } catch (error) {
      // Uploaded but never committed: the janitor deletes those objects after the grace period.
      await Promise.all(moved.map((file) => rm(file.path, { force: true })));
      throw error;
    }
    for (const file of moved) this.cache.adopt(file.path, file.size);
    await this.publish(moved.map((file) => this.keyOf(file.path)));
  }

  async replaceFiles(merged: CatalogFile, replaced: readonly string[]): Promise<boolean> {
    const size = await this.upload(merged.path);
    const mergedKey = this.keyOf(merged.path);
    const keys = replaced.map(this.keyOf);
    const inserted = await this.retire(keys);
    const swapped = await this.inner
      .replaceFiles({ ...merged, path: mergedKey }, keys)
      .catch(async (error: unknown) => {
        await this.unretire(inserted);
        throw error;
      });
    if (!swapped) {
      await this.unretire(inserted);
      await this.bucket.store.deleteObject(this.bucket.bucket, mergedKey).catch(() => undefined);
      return false;
    }
    this.cache.adopt(merged.path, size);
    await this.publish([mergedKey, ...keys]);
    return true;
  }

  async forgetFiles(paths: readonly string[]): Promise<void> {
    const keys = paths.map(this.keyOf);
    const inserted = await this.retire(keys);
    await this.inner.forgetFiles(keys).catch(async (error: unknown) => {
      await this.unretire(inserted);
      throw error;
    });
    await this.publish(keys);
    for (const path of paths) await this.cache.remove(path);
  }

  async deleteStore(id: string): Promise<void> {
    const keys = (await this.inner.storeFiles(id)).filter(isParquetKey);
    const inserted = await this.retire(keys);
    await this.inner.deleteStore(id).catch(async (error: unknown) => {
      await this.unretire(inserted);
      throw error;
    });
    await this.publish(keys);
    for (const key of keys) await this.cache.remove(this.pathOf(key));
  }

  /** Whether a CancelQuery for this query reached any node (decision 0015: the running node polls it). */
  async cancelRequested(queryId: string): Promise<boolean> {
    const rows = await this.db.query("SELECT 1 FROM cairn_lake_query_cancels WHERE query_id = $1", [queryId]);
    return rows.length > 0;
  }

  async requestCancel(queryId: string): Promise<void> {
    await this.db.query("INSERT INTO cairn_lake_query_cancels (query_id) VALUES ($1) ON CONFLICT DO NOTHING", [
      queryId,
    ]);
  }

  /** Writes the manifest of each partition these keys are in again, from the catalog as it is now. */
  async publish(keys: readonly string[]): Promise<void> {
    const partitions = new Map(keys.map((key) => partitionOf(key)).map((p) => [`${p.edsId}/${p.partition}`, p]));
    await Promise.all(
      [...partitions].map(([slot, { edsId, partition }]) =>
        // One partition's manifests are written in turn, each from a catalog read made in its turn,
        // so an older list never overwrites a newer one.
        this.manifests.run(slot, () => this.writeManifest(edsId, partition)),
      ),
    );
  }

  /**
   * Writes a partition's manifest from the catalog as it is now, on condition that the object is
   * still the one read before the catalog (`If-Match` its ETag, `If-None-Match: *` when there was
   * none). A writer whose catalog read went stale before its PUT (a lease holder paused past its
   * lease that wakes up, decision 0015) finds the condition broken, and reads both again: an older
   * list never replaces a newer one. No lock is held across the PUT.
   */
  private async writeManifest(edsId: string, partition: string): Promise<void> {
    const key = manifestKey(edsId, partition);
    for (let attempt = 1; ; attempt++) {
      // The object first, then the catalog: a manifest written after this read fails the condition.
      const seen = await this.bucket.store.getObject(this.bucket.bucket, key);
      const rows = await this.db.query<{ path: string }>(
        "SELECT path FROM cairn_lake_files WHERE eds_id = $1 AND starts_with(path, $2) ORDER BY path",
        [edsId, `${edsId}/${partition}/`],
      );
      const keys = rows.map((row) => row.path);
      try {
        await this.replaceManifest(key, keys, this.conditional ? { etag: seen?.etag } : undefined);
        return;
      } catch (error) {
        const code = error instanceof ObjectStoreError ? error.code : "";
        if (code === "NotImplemented" && this.conditional) {
          // An endpoint without conditional writes: the unconditional PUT of before (decision 0015).
          this.conditional = false;
          process.stderr.write(
            `lake: ${this.bucket.bucket} refuses conditional writes; manifests are written without\n`,
          );
          attempt = 0;
        } else if (code !== PRECONDITION_FAILED || attempt >= MANIFEST_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * The manifest listing `keys` (none: no object), replacing only the object with ETag
   * `expected.etag` (undefined: only when there is none); without `expected`, whatever is there.
   */
  private async replaceManifest(
    key: string,
    keys: readonly string[],
    expected: { readonly etag: string | undefined } | undefined,
  ): Promise<void> {
    const { store, bucket } = this.bucket;
    if (keys.length === 0) {
      if (expected === undefined) await store.deleteObject(bucket, key);
      else if (expected.etag !== undefined) await store.deleteObject(bucket, key, { ifMatch: expected.etag });
      return;
    }
    const condition =
      expected === undefined
        ? {}
        : expected.etag !== undefined
          ? { ifMatch: expected.etag }
          : { ifNoneMatch: "*" as const };
    await store.putObject(bucket, key, manifestBody(bucket, keys), { contentType: "text/plain", ...condition });
  }

  private async upload(path: string): Promise<number> {
    const body = await readFile(path);
    await this.bucket.store.putObject(this.bucket.bucket, this.keyOf(path), body, {
      contentType: "application/vnd.apache.parquet",
    });
    return body.length;
  }

  /** Records the keys as retired now; returns the ones this call recorded (not already retired). */
  private async retire(keys: readonly string[]): Promise<string[]> {
    if (keys.length === 0) return [];
    const rows = await this.db.query<{ key: string }>(
      `INSERT INTO cairn_lake_retired (key) SELECT * FROM unnest($1::text[]) ORDER BY 1
       ON CONFLICT (key) DO NOTHING RETURNING key`,
      [[...new Set(keys)]],
    );
    return rows.map((row) => row.key);
  }

  private async unretire(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db.query("DELETE FROM cairn_lake_retired WHERE key = ANY($1::text[])", [keys]);
  }

  /**
   * Deletes from the bucket what no manifest lists any more: retired files older than `graceMs`
   * that no commit lists again (their partitions' manifests are written once more first), and
   * Parquet objects no catalog row or retired row names whose upload is older than `graceMs` (a
   * commit that failed or a node that died between upload and commit). Drops cancel requests older
   * than a day. `orphans: false` skips the bucket listing.
   */
  async janitor(graceMs: number, nowMs: number, options: { orphans?: boolean } = {}): Promise<JanitorReport> {
    const due = await this.db.query<{ key: string }>(
      `SELECT r.key FROM cairn_lake_retired r
       WHERE r.retired_at < clock_timestamp() - $1 * interval '1 millisecond'
         AND NOT EXISTS (SELECT 1 FROM cairn_lake_files f WHERE f.path = r.key)
       ORDER BY r.key`,
      [graceMs],
    );
    const keys = due.map((row) => row.key);
    await this.publish(keys);
    for (const key of keys) await this.bucket.store.deleteObject(this.bucket.bucket, key);
    await this.unretire(keys);
    // A retired file committed again (a swap that lost and whose row was not withdrawn) is not garbage.
    await this.db.query(
      `DELETE FROM cairn_lake_retired r WHERE r.retired_at < clock_timestamp() - $1 * interval '1 millisecond'
         AND EXISTS (SELECT 1 FROM cairn_lake_files f WHERE f.path = r.key)`,
      [graceMs],
    );
    await this.db.query(
      "DELETE FROM cairn_lake_query_cancels WHERE requested_at < clock_timestamp() - interval '1 day'",
    );
    // Listing the whole bucket is the expensive part: the caller decides how often.
    const orphansDeleted = options.orphans === false ? 0 : await this.deleteOrphans(graceMs, nowMs);
    return { retiredDeleted: keys.length, orphansDeleted };
  }

  private async deleteOrphans(graceMs: number, nowMs: number): Promise<number> {
    const old: string[] = [];
    let startAfter: string | undefined;
    do {
      const page = await this.bucket.store.listObjects(this.bucket.bucket, {
        ...(startAfter !== undefined ? { startAfter } : {}),
        maxKeys: 1000,
      });
      for (const object of page.objects)
        if (isParquetKey(object.key) && object.lastModifiedMs < nowMs - graceMs) old.push(object.key);
      startAfter = page.nextStartAfter;
    } while (startAfter !== undefined);
    if (old.length === 0) return 0;
    // Read after the listing: a file committed while the bucket was listed is in this answer.
    const named = await this.db.query<{ key: string }>(
      `SELECT u.key FROM unnest($1::text[]) AS u(key)
       WHERE EXISTS (SELECT 1 FROM cairn_lake_files f WHERE f.path = u.key)
          OR EXISTS (SELECT 1 FROM cairn_lake_retired r WHERE r.key = u.key)`,
      [old],
    );
    const keep = new Set(named.map((row) => row.key));
    const orphans = old.filter((key) => !keep.has(key));
    for (const key of orphans) await this.bucket.store.deleteObject(this.bucket.bucket, key);
    return orphans.length;
  }
}

/**
 * Opens a node's view of the cluster catalog `inner` over the lake bucket (migrating the retired-files
 * table), creating the bucket when the endpoint allows it.
 */
export async function openS3LakeCatalog(options: {
  readonly inner: LakeCatalog;
  readonly db: PostgresDatabase;
  readonly bucket: LakeBucket;
  readonly cache: LakeFileCache;
}): Promise<S3LakeCatalog> {
  await migrate(options.db, "lake-s3", MIGRATIONS);
  await options.bucket.store.ensureBucket(options.bucket.bucket);
  return new S3LakeCatalog(options.inner, options.db, options.bucket, options.cache);
}
