/**
 * Which event data stores keep a record: same account, same region unless multi-region, ingesting,
 * created before the record was journaled, and selected by the store's advanced event selectors
 * (the shared matcher, src/selectors/). Recompiled whenever the control plane changes.
 */
import { recordAccountId, type CloudTrailRecord } from "../../model/record.js";
import { compileEventSelectors } from "../../selectors/selector-matcher.js";
import type { EventSelectorMatcher } from "../../selectors/selector-types.js";
import {
  channelIdOf,
  storeCategory,
  type Channel,
  type EventDataStore,
  type LakeCatalog,
} from "../../lake/catalog/index.js";

/** An Insights record on data events: `insightDetails.eventCategory: "Data"`, Cairn's mark (decision 0019). */
function isDataInsight(record: CloudTrailRecord): boolean {
  const details = record["insightDetails"];
  return (
    typeof details === "object" && details !== null && (details as { eventCategory?: unknown }).eventCategory === "Data"
  );
}

function ingesting(store: EventDataStore): boolean {
  return store.status === "ENABLED" || store.status === "CREATED";
}

interface CompiledStore {
  readonly store: EventDataStore;
  readonly matcher: EventSelectorMatcher;
}

export class StoreRouter {
  private compiled: CompiledStore[] = [];
  /** Channel id → ids of its destination stores. */
  private channelStores = new Map<string, Set<string>>();
  private reloadsStarted = 0;
  private reloadApplied = 0;

  private constructor(private readonly catalog: LakeCatalog) {}

  static async load(catalog: LakeCatalog): Promise<StoreRouter> {
    const router = new StoreRouter(catalog);
    await router.reload();
    return router;
  }

  /** Reads stores and channels again; of overlapping reloads, the one started last wins. */
  async reload(): Promise<void> {
    const reload = ++this.reloadsStarted;
    const [stores, channels] = await Promise.all([this.catalog.stores(), this.catalog.documents<Channel>("channels")]);
    if (reload < this.reloadApplied) return;
    this.reloadApplied = reload;
    this.compiled = stores.map((store) => ({
      store,
      matcher: compileEventSelectors({ advancedEventSelectors: store.advancedEventSelectors }),
    }));
    this.channelStores = new Map(
      channels.map((c) => [
        c.id,
        new Set(c.destinations.map((d) => d.Location.slice(d.Location.lastIndexOf("/") + 1))),
      ]),
    );
  }

  /**
   * Whether any store could take a record at this seq: one that is ingesting and was created before
   * it. When none can, liveStoresFor answers [] for every record, so the consumer need not parse it
   * (with no event data store, parsing every record was ~5 % of the ingest thread; decision 0020).
   */
  mayTake(seq: number): boolean {
    return this.compiled.some(({ store }) => ingesting(store) && seq > store.fromSeq);
  }

  /** Stores that take this record from the live journal (seq is the record's journal position). */
  liveStoresFor(record: CloudTrailRecord, seq: number): EventDataStore[] {
    const account = recordAccountId(record);
    if (record.eventCategory === "ActivityAuditLog") {
      // PutAuditEvents records go to the destinations of the channel named in their metadata, only.
      const metadata = record["metadata"] as { channelARN?: unknown } | undefined;
      const channelId = typeof metadata?.channelARN === "string" ? channelIdOf(metadata.channelARN) : undefined;
      const targets = channelId === undefined ? undefined : this.channelStores.get(channelId);
      return this.compiled
        .filter(
          ({ store }) =>
            targets?.has(store.id) === true && ingesting(store) && seq > store.fromSeq && store.accountId === account,
        )
        .map(({ store }) => store);
    }
    // Insights on data events are trail-only (spec §8.1): no event data store keeps them.
    if (isDataInsight(record)) return [];
    return this.compiled
      .filter(
        ({ store, matcher }) =>
          ingesting(store) &&
          seq > store.fromSeq &&
          store.accountId === account &&
          storeCategory(store) !== "ActivityAuditLog" &&
          (store.multiRegionEnabled || store.region === record.awsRegion) &&
          matcher.matches(record),
      )
      .map(({ store }) => store);
  }
}
