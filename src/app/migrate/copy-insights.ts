import { join } from "node:path";
import { importPostgresInsights, readSqliteInsights } from "../../stores/insights/index.js";
import type { CopyCount } from "./copy-count.js";
import type { MigrationStepDefinition } from "./migration-step.js";

export interface InsightsCounts {
  /** Series with their detector state (baseline judged, judged through, the open anomaly). */
  readonly insightSeries: CopyCount;
  /** Per-minute and per-hour counts. */
  readonly insightPoints: CopyCount;
}

/**
 * The Insights series from `<data-dir>/insights.db` (none: nothing to copy): counts, attributions,
 * each series' detector state, each region's activity and the consumer's cursor, whole (the counts
 * hold what the journal up to the cursor contributed), unless the cluster counted on its own
 * already; so the cluster's Insights lease holder resumes where the embedded server stopped, an
 * open anomaly still open. After the journal: the cursor names its seqs.
 */
export const copyInsights: MigrationStepDefinition<InsightsCounts> = {
  name: "copy Insights series",
  unit: "Insights series",
  async run(source, target) {
    const contents = readSqliteInsights(join(source.dataDir, "insights.db"));
    const added = await importPostgresInsights(target.db, contents);
    const series = contents.tables.insight_series.length;
    const points = contents.tables.insight_points.length;
    return {
      insightSeries: { copied: added?.insight_series ?? 0, present: series - (added?.insight_series ?? 0) },
      insightPoints: { copied: added?.insight_points ?? 0, present: points - (added?.insight_points ?? 0) },
    };
  },
};
