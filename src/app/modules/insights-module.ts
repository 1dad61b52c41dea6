import { join } from "node:path";
import type { ServerSettings } from "../../config/settings.js";
import {
  insightTypesFromStores,
  insightTypesFromTrails,
  unionOfKinds,
} from "../../consumers/insights/enabled-types.js";
import type { InsightsSettings } from "../../consumers/insights/insights-consumer.js";
import { InsightsRun } from "../../consumers/insights/leased-insights.js";
import { listInsightsMetricDataOperation } from "../../control-plane/insights/list-insights-metric-data.js";
import { quarantineFor } from "../../consumers/quarantine.js";
import {
  openPostgresInsightSeriesStore,
  openSqliteInsightSeriesStore,
  type InsightSeriesStore,
} from "../../stores/insights/index.js";
import type { LakeCatalog } from "../../lake/catalog/index.js";
import type { LeaseStore } from "../../stores/lease/index.js";
import type { PostgresDatabase } from "../../stores/postgres/index.js";
import { openSqliteTrailStore, type TrailStore } from "../../stores/trails/index.js";
import type { CairnModule, ModuleContext } from "../registry.js";
import { lazyLakeCatalog } from "./lazy-lake-catalog.js";

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

/** What the module runs on: the series, the trails and event data stores (whose Insight selectors enable types), and, in a cluster, the lease. */
interface InsightsBackends {
  readonly store: InsightSeriesStore;
  readonly trails: TrailStore;
  readonly eventDataStores: Pick<LakeCatalog, "stores">;
  readonly leases?: { readonly store: LeaseStore; readonly holder: string };
  /** Whether the registry must ask the store for the cluster-wide floor (cluster mode). */
  readonly cluster: boolean;
  close(): Promise<void>;
}

/**
 * CloudTrail Insights (spec §8, decision 0019): the consumer that keeps the per-minute series and
 * appends Start and End records to the journal, its wall-clock timer, ListInsightsMetricData, and the
 * series' retention. Which types are enabled comes from the trails' Insight selectors.
 */
function insightsModuleOn(open: (context: ModuleContext) => Promise<InsightsBackends>): CairnModule {
  return {
    name: "insights",
    async start(context) {
      const { settings, journal, clock, quarantine, onInternalError } = context;
      const backends = await open(context);
      const { store, trails } = backends;
      const run = new InsightsRun({
        store,
        journal,
        clock,
        settings: insightsSettingsOf(settings),
        enabledTypes: unionOfKinds(insightTypesFromTrails(trails), insightTypesFromStores(backends.eventDataStores)),
        quarantine: quarantineFor(quarantine, "insights", clock, (line) => process.stderr.write(line)),
        tickMs: INSIGHTS_TICK_MS,
        report: onInternalError,
        ...(backends.leases !== undefined ? { leases: backends.leases } : {}),
      });
      try {
        await run.start();
      } catch (error) {
        await run.close().catch(() => undefined);
        await backends.close();
        throw error;
      }
      return {
        operations: [["ListInsightsMetricData", listInsightsMetricDataOperation({ series: store, trails })]],
        consumers: () => {
          const lastError = run.lastError();
          return [
            {
              name: "insights",
              cursor: run.cursor(),
              neededFromSeq: run.cursor() + 1,
              ...(lastError !== undefined ? { lastError } : {}),
            },
          ];
        },
        ...(backends.cluster ? { clusterFloor: async () => (await store.cursor()) + 1 } : {}),
        leasesHeld: () => run.leasesHeld(),
        jobs: [
          {
            name: "insights-retention",
            intervalMs: INSIGHTS_PRUNE_INTERVAL_MS,
            runAtStart: true,
            run: () => store.prune(clock.nowMs()),
          },
        ],
        async close() {
          await run.close();
          await backends.close();
        },
      };
    },
  };
}

/** Embedded: `<data-dir>/insights.db`, and the trails of `control-plane.db` (which the trails module writes). */
export const insightsModule: CairnModule = insightsModuleOn(async ({ settings }) => {
  const store = openSqliteInsightSeriesStore(join(settings.dataDir, "insights.db"));
  const trails = openSqliteTrailStore(join(settings.dataDir, "control-plane.db"));
  const eventDataStores = lazyLakeCatalog(settings.dataDir);
  return {
    store,
    trails,
    eventDataStores,
    cluster: false,
    async close() {
      trails.close();
      await eventDataStores.close();
      await store.close();
    },
  };
});

/** Cluster mode: the series in PostgreSQL; the holder of the `insights` lease alone runs the consumer. */
export function clusterInsightsModule(
  stores: { db: PostgresDatabase; leases: LeaseStore; trails: TrailStore; lakeCatalog: LakeCatalog },
  holder: string,
): CairnModule {
  return insightsModuleOn(async () => {
    const store = await openPostgresInsightSeriesStore(stores.db);
    // The trails and the pool belong to the node's stores, which close them.
    return {
      store,
      trails: stores.trails,
      eventDataStores: stores.lakeCatalog,
      leases: { store: stores.leases, holder },
      cluster: true,
      close: () => store.close(),
    };
  });
}
