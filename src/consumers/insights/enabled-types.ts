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
