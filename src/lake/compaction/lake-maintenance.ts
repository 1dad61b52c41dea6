/**
 * Start-up recovery and periodic upkeep of the lake directory:
 * - Parquet files not recorded in the catalog (written by a flush or import chunk that did not commit)
 *   are deleted, so a replay never counts a record twice; temp files are removed. This also finishes
 *   or undoes a compaction cut short (compaction.ts): a merged file renamed into its partition but
 *   not yet recorded is deleted (its inputs are still committed), and files a committed merge
 *   replaced but had not yet deleted go too (the catalog no longer lists them);
 * - queries and imports that were running when the server stopped are marked FAILED;
 * - retention: partitions whose event date is older than the store's RetentionPeriod are deleted
 *   (compacted files included; the server runs sweeps and compaction runs in turn, never at once);
 * - stores pending deletion for 7 days are purged with their files; query results expire after 7 days.
 * In cluster mode (decision 0015) the directory is one node's cache: only this node's queries are
 * failed at start (imports are run again by the Lake writer lease holder), and retention works from
 * the catalog's file list, not from what this node happens to have on disk.
 */
import { readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { LakeCatalog } from "../catalog/index.js";

const DAY_MS = 86_400_000;

function parquetFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true })
      .map(String)
      .filter((name) => name.endsWith(".parquet"))
      .map((name) => join(dir, name));
  } catch {
    return [];
  }
}

/**
 * Start-up recovery. `clusterNodeId` (cluster mode): fail only the queries this node was running;
 * leave imports to the lease holder. Returns the committed paths it read.
 */
export async function recoverLakeDir(
  catalog: LakeCatalog,
  lakeDir: string,
  clusterNodeId?: string,
): Promise<Set<string>> {
  await rm(join(lakeDir, "tmp"), { recursive: true, force: true });
  const committed = await catalog.committedPaths();
  for (const store of await catalog.stores())
    for (const path of parquetFiles(join(lakeDir, store.id))) if (!committed.has(path)) await rm(path, { force: true });
  const tables = clusterNodeId === undefined ? (["queries", "imports"] as const) : (["queries"] as const);
  for (const table of tables)
    for (const doc of await catalog.documents<{ id: string; accountId: string; status: string; nodeId?: string }>(
      table,
    ))
      if (
        ["QUEUED", "RUNNING", "INITIALIZING", "IN_PROGRESS"].includes(doc.status) &&
        (clusterNodeId === undefined || doc.nodeId === clusterNodeId)
      )
        await catalog.putDocument(table, {
          ...doc,
          status: "FAILED",
          errorMessage: "The server stopped while this ran.",
        });
  return committed;
}

/** Cluster mode's differences in the sweep (decision 0015). */
export interface SweepOptions {
  /** Find a store's partitions in the catalog's file list (every node's files), not in the local directory. */
  readonly fromCatalog?: boolean;
  /** Also removes an expired query's results elsewhere (the lake bucket). */
  readonly removeResult?: (queryId: string) => Promise<void>;
}

/** A store's committed files by partition (`eventdate=…`), from the catalog. */
async function catalogPartitions(catalog: LakeCatalog, storeId: string): Promise<Map<string, string[]>> {
  const partitions = new Map<string, string[]>();
  for (const path of await catalog.storeFiles(storeId)) {
    const partition = basename(dirname(path));
    partitions.set(partition, [...(partitions.get(partition) ?? []), path]);
  }
  return partitions;
}

export async function sweepLake(
  catalog: LakeCatalog,
  lakeDir: string,
  nowMs: number,
  options: SweepOptions = {},
): Promise<void> {
  for (const store of await catalog.stores()) {
    const dir = join(lakeDir, store.id);
    if (store.status === "PENDING_DELETION" && store.deletedMs !== undefined && nowMs - store.deletedMs >= 7 * DAY_MS) {
      await rm(dir, { recursive: true, force: true });
      await catalog.deleteStore(store.id);
      continue;
    }
    const cutoff = new Date(nowMs - store.retentionPeriod * DAY_MS).toISOString().slice(0, 10);
    if (options.fromCatalog === true) {
      for (const [partition, files] of await catalogPartitions(catalog, store.id))
        if (partition.startsWith("eventdate=") && partition.slice(10) < cutoff) {
          await catalog.forgetFiles(files);
          await rm(join(dir, partition), { recursive: true, force: true });
        }
      continue;
    }
    let partitions: string[] = [];
    try {
      partitions = readdirSync(dir).filter((name) => name.startsWith("eventdate=") && name.slice(10) < cutoff);
    } catch {
      continue;
    }
    for (const partition of partitions) {
      const files = parquetFiles(join(dir, partition));
      await catalog.forgetFiles(files);
      await rm(join(dir, partition), { recursive: true, force: true });
    }
  }
  for (const query of await catalog.documents<{ id: string; accountId: string; createdMs: number }>("queries"))
    if (nowMs - query.createdMs > 7 * DAY_MS) {
      await catalog.deleteDocument("queries", query.id, query.accountId);
      await rm(join(lakeDir, "results", `${query.id}.json`), { force: true });
      await options.removeResult?.(query.id);
    }
}
