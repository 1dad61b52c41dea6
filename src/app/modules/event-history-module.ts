import { join } from "node:path";
import { ThreadedEventHistory } from "../../consumers/event-history/threaded-event-history.js";
import { quarantineFor } from "../../consumers/quarantine.js";
import { listInsightsDataOperation } from "../../control-plane/insights/list-insights-data.js";
import { createLookupEventsOperation } from "../../control-plane/lookup-events.js";
import { openSqliteTrailStore } from "../../stores/trails/index.js";
import type { CairnModule } from "../registry.js";

/** How long a LookupEvents call waits for the index to catch up with what was acknowledged before it. */
const READ_YOUR_WRITES_WAIT_MS = 2_000;
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Event history (spec §4): the LookupEvents index, fed by a consumer on a worker thread (decision
 * 0006), and ListInsightsData, which reads its view of Insights on data events (decision 0019).
 */
export const eventHistoryModule: CairnModule = {
  name: "event-history",
  async start({ settings, journal, clock, quarantine, onInternalError }) {
    const history = await ThreadedEventHistory.start({
      path: join(settings.dataDir, "event-history.db"),
      journal,
      clock,
      retentionDays: settings.historyRetentionDays,
      onError: onInternalError,
      quarantine: quarantineFor(quarantine, "event-history", clock, (line) => process.stderr.write(line)),
    });
    const waitForIndex = () => history.waitFor(journal.headSeq(), READ_YOUR_WRITES_WAIT_MS);
    const retentionDays = settings.historyRetentionDays;
    const lookupEvents = createLookupEventsOperation({ history, retentionDays, waitForIndex });
    // ListInsightsData names a trail: the trails of control-plane.db (which the trails module writes).
    const trails = openSqliteTrailStore(join(settings.dataDir, "control-plane.db"));
    const listInsightsData = listInsightsDataOperation({ history, trails, retentionDays, waitForIndex });
    return {
      operations: [
        ["LookupEvents", lookupEvents],
        ["ListInsightsData", listInsightsData],
      ],
      consumers: () => [{ name: "event-history", cursor: history.cursor(), neededFromSeq: history.cursor() + 1 }],
      jobs: [
        {
          name: "event-history-retention",
          intervalMs: PRUNE_INTERVAL_MS,
          runAtStart: true,
          run: async () => void (await history.prune()),
        },
      ],
      close: async () => {
        await history.close();
        trails.close();
      },
    };
  },
};
