import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { openSqliteLakeCatalog, type LakeCatalog } from "../../lake/catalog/index.js";

export type EventDataStoreReader = Pick<LakeCatalog, "store" | "stores" | "putStore">;

/**
 * The embedded Lake catalog (`<data-dir>/lake/lake.db`) as another module than the Lake module
 * reads it (event data stores' Insight selectors, decision 0019): its own connection, opened at the
 * first call, as the Lake module may start after the module that asks.
 */
export function lazyLakeCatalog(dataDir: string): EventDataStoreReader & { close(): Promise<void> } {
  let opened: Promise<LakeCatalog> | undefined;
  const catalog = (): Promise<LakeCatalog> => {
    if (opened === undefined) {
      const lakeDir = join(dataDir, "lake");
      mkdirSync(lakeDir, { recursive: true, mode: 0o700 });
      opened = openSqliteLakeCatalog(join(lakeDir, "lake.db"));
    }
    return opened;
  };
  return {
    store: async (id) => (await catalog()).store(id),
    stores: async (accountId) => (await catalog()).stores(accountId),
    putStore: async (store) => (await catalog()).putStore(store),
    close: async () => {
      if (opened !== undefined) await (await opened).close();
    },
  };
}
