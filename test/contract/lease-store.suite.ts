import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LeaseStore } from "../../src/stores/lease/index.js";

/** A lease store and the clock it reads, which the suite moves forward to let leases lapse. */
export interface LeaseStoreUnderTest {
  readonly store: LeaseStore;
  /** Another node's store on the same leases (the embedded backend has one node: `store` itself). */
  openPeer(): Promise<LeaseStore>;
  /** Lets `ms` pass for every lease, as the store's clock judges time. */
  advanceMs(ms: number): void | Promise<void>;
  /** Closes what `openPeer` opened and removes the data. */
  cleanup(): Promise<void>;
}

let counter = 0;
const freshName = (): string => `lease-${++counter}`;

/** The LeaseStore contract (src/stores/lease/lease.ts), run against every backend. */
export function leaseStoreContractSuite(name: string, open: () => Promise<LeaseStoreUnderTest>): void {
  describe(`LeaseStore contract: ${name}`, () => {
    let subject: LeaseStoreUnderTest;
    before(async () => {
      subject = await open();
    });
    after(async () => {
      await subject.store.close();
      await subject.cleanup();
    });

    it("grants a free lease, and refuses it to another holder while it runs", async () => {
      const lease = freshName();
      const grant = await subject.store.acquire(lease, "a", 1_000);
      assert.ok(grant);
      assert.equal(grant.holder, "a");
      assert.equal(await subject.store.acquire(lease, "b", 1_000), undefined);
    });

    it("renews for the same holder under the same fencing token", async () => {
      const lease = freshName();
      const first = await subject.store.acquire(lease, "a", 1_000);
      const again = await subject.store.acquire(lease, "a", 1_000);
      assert.equal(again?.fencingToken, first?.fencingToken);
      const renewed = await subject.store.renew(first!, 1_000);
      assert.equal(renewed?.fencingToken, first?.fencingToken);
    });

    it("passes a lapsed lease to another holder with a greater fencing token, and the old grant cannot renew", async () => {
      const lease = freshName();
      const first = await subject.store.acquire(lease, "a", 1_000);
      await subject.advanceMs(1_001);
      const second = await subject.store.acquire(lease, "b", 1_000);
      assert.ok(second);
      assert.ok(second.fencingToken > first!.fencingToken);
      assert.equal(await subject.store.renew(first!, 1_000), undefined);
    });

    it("lets another holder in at once after a release, and ignores a release of a lost grant", async () => {
      const lease = freshName();
      const first = await subject.store.acquire(lease, "a", 60_000);
      await subject.store.release(first!);
      const second = await subject.store.acquire(lease, "b", 60_000);
      assert.ok(second);
      await subject.store.release(first!);
      assert.equal(await subject.store.acquire(lease, "c", 60_000), undefined, "b still holds it");
    });

    it("gives a contested lease to exactly one holder across two nodes, then to the other after the TTL", async () => {
      const lease = freshName();
      const nodes = [subject.store, await subject.openPeer()];
      const holders = Array.from({ length: 8 }, (_, i) => `holder-${i}`);
      const grants = await Promise.all(holders.map((holder, i) => nodes[i % 2]!.acquire(lease, holder, 1_000)));
      const won = grants.filter((grant) => grant !== undefined);
      assert.equal(won.length, 1, "exactly one holder won");
      const winner = won[0]!;
      const winnerIndex = holders.indexOf(winner.holder);
      const otherNode = nodes[(winnerIndex + 1) % 2]!;
      assert.equal(await otherNode.acquire(lease, "late", 1_000), undefined, "the other node sees it held");
      await subject.advanceMs(1_001);
      const next = await otherNode.acquire(lease, "late", 1_000);
      assert.ok(next, "the other node takes the lapsed lease");
      assert.ok(next.fencingToken > winner.fencingToken);
      assert.equal(await nodes[winnerIndex % 2]!.renew(winner, 1_000), undefined, "the old holder cannot renew");
      assert.equal(await nodes[winnerIndex % 2]!.acquire(lease, winner.holder, 1_000), undefined);
    });

    it("keeps leases of different names apart", async () => {
      const one = await subject.store.acquire(freshName(), "a", 1_000);
      const two = await subject.store.acquire(freshName(), "b", 1_000);
      assert.ok(one && two);
    });
  });
}
