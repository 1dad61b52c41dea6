/**
 * Which event data stores keep a record: same account, same region unless multi-region, ingesting,
 * created before the record was journaled, and selected by the store's advanced event selectors
 * (the shared matcher, src/selectors/). Recompiled whenever the control plane changes.
 */
import { recordAccountId, type CloudTrailRecord } from "../model/record.js";
import { compileEventSelectors } from "../selectors/selector-matcher.js";
import type { EventSelectorMatcher } from "../selectors/selector-types.js";
import type { EventDataStore, LakeDb } from "./lake-db.js";

interface CompiledStore {
  readonly store: EventDataStore;
  readonly matcher: EventSelectorMatcher;
}

export class StoreRouter {
  private compiled: CompiledStore[] = [];

  constructor(private readonly db: LakeDb) {
    this.reload();
  }

  reload(): void {
    this.compiled = this.db.stores().map((store) => ({
      store,
      matcher: compileEventSelectors({ advancedEventSelectors: store.advancedEventSelectors }),
    }));
  }

  /** Stores that take this record from the live journal (seq is the record's journal position). */
  liveStoresFor(record: CloudTrailRecord, seq: number): EventDataStore[] {
    const account = recordAccountId(record);
    return this.compiled
      .filter(
        ({ store, matcher }) =>
          (store.status === "ENABLED" || store.status === "CREATED") &&
          seq > store.fromSeq &&
          store.accountId === account &&
          (store.multiRegionEnabled || store.region === record.awsRegion) &&
          matcher.matches(record),
      )
      .map(({ store }) => store);
  }
}
