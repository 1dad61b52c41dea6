import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import {
  addPostgresLakeKeys,
  openSqliteLakeCatalog,
  readSqliteLakeKeys,
  type CatalogDocument,
  type CatalogFile,
  type DocumentTable,
  type ImportFailure,
  type LakeCatalog,
} from "../../lake/catalog/index.js";
import { manifestBody, manifestKey } from "../../lake/s3/s3-lake-catalog.js";
import type { ObjectStore } from "../../stores/objects/index.js";
import type { PostgresDatabase } from "../../stores/postgres/index.js";
import { keysOf } from "./copy-buckets.js";
import { addCounts, countOne, type CopyCount, type ProgressTick } from "./copy-count.js";

/**
 * The Lake part of `cairn migrate --to-cluster`, in a module of its own because the Lake on S3
 * (decision 0015: the PostgreSQL catalog names each Parquet file by its key in CAIRN_LAKE_BUCKET,
 * `<eds-id>/eventdate=YYYY-MM-DD/<name>.parquet`, the embedded layout under `<data-dir>/lake`) owns
 * the manifests' format (manifestKey, manifestBody). It writes through the contract's catalog
 * rather than S3LakeCatalog: the files are on the source's disk, not in a node's cache.
 */
export interface LakeTarget {
  readonly catalog: LakeCatalog;
  /** The catalog's database: keys are added to it a page at a time, outside the contract's commits. */
  readonly db: PostgresDatabase;
  readonly objects: ObjectStore;
  readonly bucket: string;
}

export interface LakeCounts {
  readonly eventDataStores: CopyCount;
  readonly lakeFiles: CopyCount;
  readonly lakeDocuments: CopyCount;
}

const NOTHING: CopyCount = { copied: 0, present: 0 };
const DOCUMENT_TABLES: readonly DocumentTable[] = ["queries", "imports", "channels"];
const KEY_LAYOUT = /^[^/]+\/eventdate=\d{4}-\d{2}-\d{2}\/[^/]+\.parquet$/;
const FAILURES_PAGE = 1_000;
const KEYS_PAGE = 10_000;

/**
 * Copies the embedded Lake: (1) each committed Parquet file is uploaded under its key, (2) every
 * store's de-duplication keys (a page at a time; those of files retention forgot too), then the
 * files and the Lake writer's cursor in one catalog transaction, then the Hive symlink manifests of
 * their partitions, (3) queries, imports (with
 * their failures) and channels, (4) the event data stores, last, so no Lake writer of the cluster works on a store before its keys and cursor are there
 * (it would write its events again). Each step skips what the cluster has; the cursor only moves
 * forward, so a run after the cluster's writer went on changes nothing.
 */
export async function copyLake(
  dataDir: string,
  target: LakeTarget,
  tick: ProgressTick = () => undefined,
): Promise<LakeCounts> {
  const lakeDir = join(dataDir, "lake");
  const path = join(lakeDir, "lake.db");
  if (!existsSync(path)) return { eventDataStores: NOTHING, lakeFiles: NOTHING, lakeDocuments: NOTHING };
  const source = await openSqliteLakeCatalog(path);
  try {
    const files = (await source.allFiles()).map((file) => ({ ...file, key: lakeKeyOf(lakeDir, file.path) }));
    const stores = await source.stores();
    await uploadFiles(files, target, tick);
    // Keys before files: once a file counts, the records in it must be known as stored.
    await copyKeys(
      path,
      stores.map((store) => store.id),
      target.db,
    );
    const lakeFiles = await commitFiles(files, await source.cursor(), target.catalog);
    // Stores come last: one the cluster lacks may still lack its manifests (a run stopped after its commit).
    const absent = new Set<string>();
    for (const store of stores) if ((await target.catalog.store(store.id)) === undefined) absent.add(store.id);
    await writeManifests(
      files.filter((file) => absent.has(file.edsId)),
      target,
    );
    const lakeDocuments = await copyDocuments(source, target.catalog);
    let eventDataStores = NOTHING;
    for (const store of stores) {
      if (absent.has(store.id)) await target.catalog.putStore(store);
      eventDataStores = addCounts(eventDataStores, countOne(absent.has(store.id)));
    }
    return { eventDataStores, lakeFiles, lakeDocuments };
  } finally {
    await source.close();
  }
}

/** A file's key in the lake bucket: its path under `<data-dir>/lake`, which must be the Hive layout. */
function lakeKeyOf(lakeDir: string, path: string): string {
  const key = relative(lakeDir, path).split(sep).join("/");
  if (!KEY_LAYOUT.test(key)) throw new Error(`The Lake file ${key} is not under <eds-id>/eventdate=YYYY-MM-DD/.`);
  return key;
}

/** Uploads the files the bucket does not hold yet (an upload is whole: a key there is a file copied). */
async function uploadFiles(
  files: ReadonlyArray<CatalogFile & { key: string }>,
  target: LakeTarget,
  tick: ProgressTick,
): Promise<void> {
  if (files.length === 0) return;
  await target.objects.ensureBucket(target.bucket);
  const there = await keysOf(target.objects, target.bucket);
  for (const [i, file] of files.entries()) {
    if (!there.has(file.key))
      await target.objects.putObject(target.bucket, file.key, await readFile(file.path), {
        contentType: "application/vnd.apache.parquet",
      });
    tick(i + 1, files.length);
  }
}

/** One transaction: the files under their keys, and the Lake writer's cursor if it is ahead of the cluster's. */
async function commitFiles(
  files: ReadonlyArray<CatalogFile & { key: string }>,
  cursor: number,
  catalog: LakeCatalog,
): Promise<CopyCount> {
  const committed = await catalog.committedPaths();
  const missing = files.filter((file) => !committed.has(file.key));
  const cursorAhead = cursor > (await catalog.cursor());
  if (missing.length > 0 || cursorAhead)
    await catalog.commitFiles(
      missing.map((file) => ({ path: file.key, edsId: file.edsId, rows: file.rows, keys: [] })),
      cursorAhead ? cursor : undefined,
    );
  return { copied: missing.length, present: files.length - missing.length };
}

/** Every store's de-duplication keys, a page at a time (adding a key twice changes nothing). */
async function copyKeys(path: string, storeIds: readonly string[], db: PostgresDatabase): Promise<void> {
  for (const edsId of storeIds)
    for (let after: Buffer = Buffer.alloc(0); ;) {
      const page = readSqliteLakeKeys(path, edsId, after, KEYS_PAGE);
      await addPostgresLakeKeys(db, edsId, page);
      if (page.length < KEYS_PAGE) break;
      after = page.at(-1)!;
    }
}

/**
 * The Hive symlink manifest of every partition the copy committed to, as the Lake on S3 writes them
 * (decision 0015): `<eds-id>/_symlink_format_manifest/eventdate=…/manifest`, one `s3://` URI a line
 * for each file the catalog commits in that partition, in key order. Written for the stores the
 * cluster does not have yet (they come last), so no Lake writer of the cluster writes one meanwhile.
 */
async function writeManifests(files: ReadonlyArray<{ edsId: string; key: string }>, target: LakeTarget): Promise<void> {
  const partitions = new Set(files.map((file) => file.key.slice(0, file.key.lastIndexOf("/"))));
  for (const partition of partitions) {
    const [edsId = "", eventDate = ""] = partition.split("/");
    const keys = (await target.catalog.storeFiles(edsId)).filter((key) => key.startsWith(`${partition}/`)).sort();
    await target.objects.putObject(target.bucket, manifestKey(edsId, eventDate), manifestBody(target.bucket, keys), {
      contentType: "text/plain",
    });
  }
}

async function copyDocuments(source: LakeCatalog, target: LakeCatalog): Promise<CopyCount> {
  let count = NOTHING;
  for (const table of DOCUMENT_TABLES)
    for (const document of await source.documents<CatalogDocument>(table)) {
      const there = await target.findDocument(table, document.id);
      if (there === undefined) {
        // An import's failures first: its document is what says they were all copied.
        if (table === "imports") await copyImportFailures(source, target, document.id);
        await target.putDocument(table, document);
      }
      count = addCounts(count, countOne(there === undefined));
    }
  return count;
}

/** All of an import's failures in one call (one transaction), so an interrupted copy leaves none rather than some. */
async function copyImportFailures(source: LakeCatalog, target: LakeCatalog, importId: string): Promise<void> {
  if ((await target.importFailures(importId, 0, 1)).length > 0) return;
  const failures: ImportFailure[] = [];
  for (let offset = 0; ; offset += FAILURES_PAGE) {
    const page = await source.importFailures(importId, offset, FAILURES_PAGE);
    failures.push(...page);
    if (page.length < FAILURES_PAGE) break;
  }
  if (failures.length > 0) await target.addImportFailures(importId, failures);
}
