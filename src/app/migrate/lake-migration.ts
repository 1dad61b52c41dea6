import { existsSync } from "node:fs";
import { join } from "node:path";
import { openSqliteLakeCatalog } from "../../lake/catalog/index.js";

/**
 * The Lake part of `cairn migrate --to-cluster`, in a module of its own because the Lake on S3
 * (catalog in PostgreSQL, Parquet files under `<eds-id>/eventdate=YYYY-MM-DD/` in CAIRN_LAKE_BUCKET)
 * is still being built. Until it is, a data dir with event data stores is refused before anything is
 * copied, never half-migrated; one without any has nothing to copy here.
 */
export async function checkLakeMigratable(dataDir: string): Promise<void> {
  const path = join(dataDir, "lake", "lake.db");
  if (!existsSync(path)) return;
  const catalog = await openSqliteLakeCatalog(path);
  try {
    const stores = await catalog.stores();
    if (stores.length > 0)
      throw new Error(
        `event data stores are not migrated yet: ${dataDir} has ${stores.length} ` +
          `(${stores
            .slice(0, 5)
            .map((store) => store.name)
            .join(", ")}${stores.length > 5 ? ", …" : ""}); nothing was copied (docs/reference/cluster.md).`,
      );
  } finally {
    await catalog.close();
  }
}
