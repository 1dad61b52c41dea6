import type { LakeCatalog } from "../../lake/catalog/index.js";
import { insightKind, type InsightCategory } from "../../stores/insights/index.js";
import type { TrailConfig, TrailStore } from "../../stores/trails/index.js";

/** Whether a trail's Insight selectors apply to an account and region: its own (or, for an organization trail, any) account, in its home region or any region when multi-region. */
function trailCovers(trail: TrailConfig, accountId: string, region: string): boolean {
  if (trail.accountId !== accountId && !trail.isOrganizationTrail) return false;
  return trail.homeRegion === region || trail.isMultiRegionTrail;
}

/**
 * The insight kinds (insightKind: category and type) the trails select for an account's region
 * (decision 0019, point 6): asked only when a series has minutes to judge, so a trail's change
 * counts from then on.
 */
export function insightTypesFromTrails(
  trails: Pick<TrailStore, "list">,
): (accountId: string, region: string) => Promise<ReadonlySet<string>> {
  return async (accountId, region) => {
    const kinds = new Set<string>();
    for (const trail of await trails.list())
      if (trailCovers(trail, accountId, region))
        for (const selector of trail.insightSelectors ?? [])
          for (const category of selector.EventCategories ?? (["Management"] as InsightCategory[]))
            kinds.add(insightKind(category, selector.InsightType));
    return kinds;
  };
}

/**
 * The same for event data stores with Insight selectors (decision 0019, point 11): a source store
 * of the account, active, in the region or multi-region, enables its types on management events.
 */
export function insightTypesFromStores(
  stores: Pick<LakeCatalog, "stores">,
): (accountId: string, region: string) => Promise<ReadonlySet<string>> {
  return async (accountId, region) => {
    const kinds = new Set<string>();
    for (const store of await stores.stores(accountId))
      if (store.status !== "PENDING_DELETION" && (store.region === region || store.multiRegionEnabled))
        for (const selector of store.insightSelectors ?? []) kinds.add(insightKind("Management", selector.InsightType));
    return kinds;
  };
}

/** Every kind any of `sources` enables. */
export function unionOfKinds(
  ...sources: ReadonlyArray<(accountId: string, region: string) => Promise<ReadonlySet<string>>>
): (accountId: string, region: string) => Promise<ReadonlySet<string>> {
  return async (accountId, region) => {
    const kinds = new Set<string>();
    for (const source of sources) for (const kind of await source(accountId, region)) kinds.add(kind);
    return kinds;
  };
}
