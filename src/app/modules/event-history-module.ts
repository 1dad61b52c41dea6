import { join } from "node:path";
import { ThreadedEventHistory } from "../../consumers/event-history/threaded-event-history.js";
import { quarantineFor } from "../../consumers/quarantine.js";
import { createLookupEventsOperation } from "../../control-plane/lookup-events.js";
import type { CairnModule } from "../registry.js";

/** How long a LookupEvents call waits for the index to catch up with what was acknowledged before it. */
const READ_YOUR_WRITES_WAIT_MS = 2_000;
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/** Event history (spec §4): the LookupEvents index, fed by a consumer on a worker thread (decision 0006). */
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
    const lookupEvents = createLookupEventsOperation({
      history,
      retentionDays: settings.historyRetentionDays,
      waitForIndex: () => history.waitFor(journal.headSeq(), READ_YOUR_WRITES_WAIT_MS),
    });
    return {
      operations: [["LookupEvents", lookupEvents]],
      consumers: () => [{ name: "event-history", cursor: history.cursor(), neededFromSeq: history.cursor() + 1 }],
      jobs: [
        {
          name: "event-history-retention",
          intervalMs: PRUNE_INTERVAL_MS,
          runAtStart: true,
          run: async () => void (await history.prune()),
        },
      ],
      close: () => history.close(),
    };
  },
};
