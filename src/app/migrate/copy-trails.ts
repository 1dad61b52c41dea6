import type { BucketOwnerStore } from "../../stores/bucket-owners/index.js";
import type { DeliveryState, DeliveryStateStore, TrailDeliveryStatus, TrailStore } from "../../stores/trails/index.js";
import { addCounts, countOne, type CopyCount } from "./copy-count.js";

export interface TrailCounts {
  readonly trails: CopyCount;
  readonly deliveryStates: CopyCount;
}

/**
 * Each trail's delivery state (cursor, pending intent, undigested files, digest chains, pending
 * digests), then the trail itself with its delivery status. The state goes first: a cluster node
 * delivers a trail only once it exists, and would start a trail without its state from an empty one
 * (a new digest chain), which a re-run could then no longer fix. The state is saved unfenced, as
 * the embedded server kept it; a cluster node's first lease fences it from then on. A trail that
 * exists, or a state that is not empty, is left as it is: a re-run copies neither twice.
 */
export async function copyTrails(
  source: { trails: TrailStore; deliveryStates: DeliveryStateStore },
  target: { trails: TrailStore; deliveryStates: DeliveryStateStore },
): Promise<TrailCounts> {
  let trails: CopyCount = { copied: 0, present: 0 };
  let deliveryStates: CopyCount = { copied: 0, present: 0 };
  for (const trail of await source.trails.list()) {
    const state = await source.deliveryStates.load(trail.trailArn);
    if (!isEmpty(state)) {
      const there = await target.deliveryStates.load(trail.trailArn);
      if (isEmpty(there)) await target.deliveryStates.save(state);
      deliveryStates = addCounts(deliveryStates, countOne(isEmpty(there)));
    }
    const existing = await target.trails.get(trail.accountId, trail.name);
    if (existing === undefined) {
      await target.trails.put(trail);
      await target.trails.updateStatus(trail.trailArn, definedOnly(await source.trails.status(trail.trailArn)));
    } else if (existing.trailArn !== trail.trailArn || existing.createdAtMs !== trail.createdAtMs) {
      throw new Error(`The cluster already has another trail named ${trail.name} in account ${trail.accountId}.`);
    }
    trails = addCounts(trails, countOne(existing === undefined));
  }
  return { trails, deliveryStates };
}

/**
 * Every bucket's owner, for the accounts given (the contract lists per account): claiming again
 * changes nothing; a bucket another account owns in the cluster is refused.
 */
export async function copyBucketOwners(
  source: BucketOwnerStore,
  target: BucketOwnerStore,
  accountIds: Iterable<string>,
): Promise<CopyCount> {
  let count: CopyCount = { copied: 0, present: 0 };
  for (const accountId of new Set(accountIds))
    for (const bucket of await source.list(accountId)) {
      const before = await target.ownerOf(bucket);
      const owner = await target.claim(bucket, accountId);
      if (owner !== accountId)
        throw new Error(`Bucket ${bucket} belongs to account ${owner} in the cluster, not to ${accountId}.`);
      count = addCounts(count, countOne(before === undefined));
    }
  return count;
}

function isEmpty(state: DeliveryState): boolean {
  return (
    state.cursor === 0 &&
    state.intent === null &&
    state.undigested.length === 0 &&
    state.chains.length === 0 &&
    state.pendingDigests.length === 0
  );
}

function definedOnly(status: TrailDeliveryStatus): Partial<TrailDeliveryStatus> {
  return Object.fromEntries(Object.entries(status).filter(([, value]) => value !== undefined));
}
