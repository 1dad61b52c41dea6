import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SigmaRuleStore, StoredSigmaRule } from "../../src/stores/sigma/index.js";

/**
 * The SigmaRuleStore contract (src/stores/sigma/sigma-store.ts), run against every backend. The
 * factory is called once per test and returns an empty place; `open()` opens a new store over it
 * each time, as a restart or another node would.
 */
export interface SigmaRuleStoreUnderTest {
  open(): SigmaRuleStore | Promise<SigmaRuleStore>;
  cleanup(): Promise<void>;
}

const ALICE = "111111111111";
const BOB = "222222222222";

function rule(accountId: string, id: string, extra: Partial<StoredSigmaRule> = {}): StoredSigmaRule {
  return {
    accountId,
    id,
    title: `rule ${id}`,
    level: "high",
    yaml: `title: rule ${id}\n`,
    addedBy: `arn:aws:iam::${accountId}:root`,
    addedAtMs: 1_700_000_000_000,
    ...extra,
  };
}

export function sigmaRuleStoreContractSuite(backend: string, place: () => Promise<SigmaRuleStoreUnderTest>): void {
  describe(`SigmaRuleStore contract (${backend})`, () => {
    const withStore = async (body: (store: SigmaRuleStore, reopen: () => Promise<SigmaRuleStore>) => Promise<void>) => {
      const under = await place();
      try {
        await body(await under.open(), async () => under.open());
      } finally {
        await under.cleanup();
      }
    };

    it("keeps each account's rules apart, in id order, across a reopen", () =>
      withStore(async (store, reopen) => {
        assert.equal(await store.put(rule(ALICE, "b"), 10), "created");
        assert.equal(await store.put(rule(ALICE, "a"), 10), "created");
        assert.equal(await store.put(rule(BOB, "a", { title: "bob's" }), 10), "created");
        const again = await reopen();
        assert.deepEqual(
          (await again.list(ALICE)).map((stored) => stored.id),
          ["a", "b"],
        );
        assert.deepEqual(await again.list(BOB), [rule(BOB, "a", { title: "bob's" })]);
        assert.deepEqual(
          (await again.all()).map((stored) => [stored.accountId, stored.id]),
          [
            [ALICE, "a"],
            [ALICE, "b"],
            [BOB, "a"],
          ],
        );
      }));

    it("replaces a rule of the same id, and refuses a new one past the account's limit", () =>
      withStore(async (store) => {
        assert.equal(await store.put(rule(ALICE, "a"), 2), "created");
        assert.equal(await store.put(rule(ALICE, "b"), 2), "created");
        assert.equal(await store.put(rule(ALICE, "c"), 2), "limit");
        assert.equal(await store.put(rule(ALICE, "a", { level: "low", yaml: "new" }), 2), "replaced");
        assert.equal(await store.put(rule(BOB, "c"), 2), "created");
        const stored = await store.list(ALICE);
        assert.deepEqual(
          stored.map((one) => [one.id, one.level, one.yaml]),
          [
            ["a", "low", "new"],
            ["b", "high", "title: rule b\n"],
          ],
        );
      }));

    it("deletes only the account's own rule", () =>
      withStore(async (store) => {
        await store.put(rule(ALICE, "a"), 10);
        assert.equal(await store.delete(BOB, "a"), false);
        assert.equal(await store.delete(ALICE, "a"), true);
        assert.equal(await store.delete(ALICE, "a"), false);
        assert.deepEqual(await store.list(ALICE), []);
      }));

    it("raises the revision with every change, not with a refused one", () =>
      withStore(async (store, reopen) => {
        const first = await store.revision();
        await store.put(rule(ALICE, "a"), 1);
        const second = await store.revision();
        assert.ok(second > first);
        assert.equal(await store.put(rule(ALICE, "b"), 1), "limit");
        assert.equal(await store.delete(ALICE, "zzz"), false);
        assert.equal(await store.revision(), second);
        await store.delete(ALICE, "a");
        assert.ok((await (await reopen()).revision()) > second);
      }));

    it("refuses every call once closed", () =>
      withStore(async (store) => {
        await store.close();
        await assert.rejects(store.list(ALICE), /closed/);
        await store.close();
      }));
  });
}
