import { join } from "node:path";
import type { ServerSettings } from "../../config/settings.js";
import { insightTypesFromTrails } from "../../consumers/insights/enabled-types.js";
import { InsightsConsumer, type InsightsSettings } from "../../consumers/insights/insights-consumer.js";
import { listInsightsMetricDataOperation } from "../../control-plane/insights/list-insights-metric-data.js";
import { quarantineFor } from "../../consumers/quarantine.js";
import { ConsumerRunner } from "../../consumers/runner.js";
import { openSqliteInsightSeriesStore } from "../../stores/insights/index.js";
import { openSqliteTrailStore } from "../../stores/trails/index.js";
import type { CairnModule } from "../registry.js";

/** How often the wall clock closes minutes of accounts gone quiet (decision 0019, point 4). */
const INSIGHTS_TICK_MS = 5_000;
const INSIGHTS_PRUNE_INTERVAL_MS = 60 * 60 * 1000;

function insightsSettingsOf(settings: ServerSettings): InsightsSettings {
  return {
    baselineMinutes: settings.insightsBaselineDays * 1440,
    thresholdSigma: settings.insightsThresholdSigma,
    minimumRate: settings.insightsMinimumRate,
    quietMinutes: settings.insightsQuietMinutes,
    detectionDelayMs: settings.insightsDetectionDelaySeconds * 1000,
  };
}

/**
 * CloudTrail Insights (spec §8, decision 0019): the consumer that keeps the per-minute series in
 * `<data-dir>/insights.db` and appends Start and End records to the journal, its wall-clock timer,
 * and the series' retention. Which types are enabled comes from the trails' Insight selectors
 * (read from `control-plane.db`, which the trails module writes).
 */
export const insightsModule: CairnModule = {
  name: "insights",
  async start({ settings, journal, clock, quarantine, onInternalError }) {
    const store = openSqliteInsightSeriesStore(join(settings.dataDir, "insights.db"));
    const trails = openSqliteTrailStore(join(settings.dataDir, "control-plane.db"));
    const consumer = new InsightsConsumer({
      store,
      journal,
      clock,
      settings: insightsSettingsOf(settings),
      enabledTypes: insightTypesFromTrails(trails),
    });
    const runner = new ConsumerRunner(journal, consumer, {
      quarantine: quarantineFor(quarantine, "insights", clock, (line) => process.stderr.write(line)),
    });
    await runner.start();
    let ticking = false;
    const timer = setInterval(() => {
      if (ticking) return;
      ticking = true;
      consumer
        .tick()
        .catch(onInternalError)
        .finally(() => (ticking = false));
    }, INSIGHTS_TICK_MS);
    timer.unref();
    return {
      operations: [["ListInsightsMetricData", listInsightsMetricDataOperation({ series: store, trails })]],
      consumers: () => [
        {
          name: "insights",
          cursor: runner.cursorSeq(),
          neededFromSeq: runner.cursorSeq() + 1,
          ...(runner.lastError !== undefined ? { lastError: String(runner.lastError) } : {}),
        },
      ],
      jobs: [
        {
          name: "insights-retention",
          intervalMs: INSIGHTS_PRUNE_INTERVAL_MS,
          runAtStart: true,
          run: () => store.prune(clock.nowMs()),
        },
      ],
      async close() {
        clearInterval(timer);
        await runner.stop();
        await consumer.close();
        trails.close();
        await store.close();
      },
    };
  },
};
