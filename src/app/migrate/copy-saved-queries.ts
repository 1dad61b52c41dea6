import { join } from "node:path";
import { importPostgresSavedQueries, readSqliteSavedQueries } from "../../stores/saved-queries/index.js";
import type { CopyCount } from "./copy-count.js";
import type { MigrationStepDefinition } from "./migration-step.js";

export interface SavedQueryCounts {
  readonly savedQueries: CopyCount;
}

/**
 * Users' saved Lake queries, from `<data-dir>/saved-queries.db` (none: nothing to copy). They name
 * no seq and no other store's rows, so their place in the order does not matter; a name a user
 * saved on the cluster meanwhile keeps the cluster's statement.
 */
export const copySavedQueries: MigrationStepDefinition<SavedQueryCounts> = {
  name: "copy saved Lake queries",
  unit: "saved queries",
  async run(source, target) {
    const rows = readSqliteSavedQueries(join(source.dataDir, "saved-queries.db"));
    const copied = await importPostgresSavedQueries(target.db, rows);
    return { savedQueries: { copied, present: rows.length - copied } };
  },
};
