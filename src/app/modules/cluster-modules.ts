import { LeasedIndexer } from "../../consumers/event-history/leased-indexer.js";
import { PostgresEventHistory } from "../../consumers/event-history/postgres-event-history.js";
import { quarantineFor } from "../../consumers/quarantine.js";
import { trailsNeededFromSeq } from "../../consumers/trail-delivery/trail-retention.js";
import { listInsightsDataOperation } from "../../control-plane/insights/list-insights-data.js";
import { createLookupEventsOperation } from "../../control-plane/lookup-events.js";
import type { LakeCatalog } from "../../lake/catalog/index.js";
import type { PostgresDatabase } from "../../stores/postgres/index.js";
import type { LeaseStore } from "../../stores/lease/index.js";
import type { PostgresDeliveryStateStore, PostgresTrailStore, TrailStore } from "../../stores/trails/index.js";
import type { CairnModule } from "../registry.js";
import { startTrailsOn } from "./trails-module.js";

/** How long a LookupEvents call waits for the index to catch up with what was acknowledged before it. */
const READ_YOUR_WRITES_WAIT_MS = 2_000;
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Event history on PostgreSQL (decision 0013). One node indexes: the holder of the
 * `event-history-indexer` lease, under its fencing token, and it alone prunes. Every node serves
 * LookupEvents, which waits for the cursor PostgreSQL holds to reach the stream's head as the stream
 * has it (not this node's view), whichever node moved it.
 */
export function clusterEventHistoryModule(
  stores: { db: PostgresDatabase; leases: LeaseStore; trails: TrailStore },
  holder: string,
  latestSeq: () => Promise<number>,
): CairnModule {
  return {
    name: "event-history",
    async start({ settings, journal, clock, quarantine, onInternalError }) {
      const history = await PostgresEventHistory.open({
        db: stores.db,
        journal,
        clock,
        retentionDays: settings.historyRetentionDays,
      });
      const indexer = new LeasedIndexer({
        history,
        journal,
        leases: { store: stores.leases, holder },
        pruneEveryMs: PRUNE_INTERVAL_MS,
        // As on an embedded server: a record the index refuses is set aside, not retried forever.
        quarantine: quarantineFor(quarantine, "event-history", clock, (line) => process.stderr.write(line)),
        report: onInternalError,
      });
      indexer.start();
      const retentionDays = settings.historyRetentionDays;
      const waitForIndex = async () => {
        const started = performance.now();
        // Another node's appends: only the stream knows them. Unreachable, this node's view still bounds the wait.
        const target = await withinMs(latestSeq(), READ_YOUR_WRITES_WAIT_MS).catch(() => undefined);
        const left = READ_YOUR_WRITES_WAIT_MS - (performance.now() - started);
        await history.waitFor(target ?? journal.headSeq(), Math.max(0, left));
      };
      const lookupEvents = createLookupEventsOperation({ history, retentionDays, waitForIndex });
      const listInsightsData = listInsightsDataOperation({
        history,
        trails: stores.trails,
        retentionDays,
        waitForIndex,
      });
      return {
        operations: [
          ["LookupEvents", lookupEvents],
          ["ListInsightsData", listInsightsData],
        ],
        // On every node: the shared cursor (a non-holder reads it), so retention and lag see the one index.
        consumers: () => [{ name: "event-history", cursor: history.cursor(), neededFromSeq: history.cursor() + 1 }],
        clusterFloor: async () => (await history.storedCursor()) + 1,
        leasesHeld: () => indexer.leasesHeld(),
        close: async () => {
          await indexer.close();
          await history.close();
        },
      };
    },
  };
}

/** `promise`'s value, or undefined once `ms` passed first. */
async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The lowest journal seq any trail still needs, whichever node delivers it (or drains it after a
 * stop or a deletion), from the states every node saved in PostgreSQL. The trails are read first,
 * then the deleted ones (a trail deleted in between is in both, never in neither), then the states:
 * a state read after them is only further along, so no trail of the list is placed above where it
 * is. A trail started after the list was read is missed, but it needs only entries journaled from
 * its start on, younger than any retention period.
 */
export async function trailsClusterFloor(stores: {
  trails: TrailStore;
  deliveryStates: PostgresDeliveryStateStore;
}): Promise<number> {
  const trails = await stores.trails.list();
  const deleted = await stores.trails.deletedTrails();
  return trailsNeededFromSeq(trails, await stores.deliveryStates.loadAll(), deleted);
}

/**
 * Trails on PostgreSQL: every node serves the trail operations and runs a delivery manager, but a
 * trail is delivered only by the node holding its lease, fenced by the lease's token (decision 0012);
 * the store's LISTEN/NOTIFY carries another node's trail changes to this node's manager. Buckets are
 * on S3 and must exist there: there is no embedded S3 endpoint in cluster mode. The stores belong to
 * the node and are closed with it, not here.
 */
export function clusterTrailsModule(
  stores: {
    db: PostgresDatabase;
    trails: PostgresTrailStore;
    deliveryStates: PostgresDeliveryStateStore;
    leases: LeaseStore;
    lakeCatalog: LakeCatalog;
  },
  holder: string,
): CairnModule {
  return {
    name: "trails",
    async start(context) {
      const shutdown = new AbortController();
      const { delivery, operations } = await startTrailsOn(context, {
        trails: stores.trails,
        deliveryStates: stores.deliveryStates,
        leases: { store: stores.leases, holder },
        sns: { store: context.sns, shutdown: shutdown.signal },
        eventDataStores: stores.lakeCatalog,
      });
      return {
        operations,
        consumers: () => delivery.consumers(),
        clusterFloor: () => trailsClusterFloor(stores),
        // Which node delivers which trail (`/health`'s role), so an operator sees a takeover.
        leasesHeld: () => delivery.leasesHeld(),
        banner: () => [`  trail buckets:    ${context.settings.s3Endpoint} (S3; delivery leased as ${holder})`],
        async close() {
          shutdown.abort();
          await delivery.stop();
        },
      };
    },
  };
}
