import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SavedQuery, SavedQueryStore } from "../../src/stores/saved-queries/index.js";
import type { StorePlace } from "./store-places.js";

/**
 * The SavedQueryStore contract (src/stores/saved-queries/saved-query-store.ts), run against every
 * backend. The factory gives an empty place per test; `open()` opens a new store over it, as a
 * restart or another node would.
 */
const ALICE_ACCOUNT = "111111111111";
const BOB_ACCOUNT = "222222222222";
const ALICE = `arn:aws:iam::${ALICE_ACCOUNT}:user/alice`;
const CAROL = `arn:aws:iam::${ALICE_ACCOUNT}:user/carol`;
const BOB = `arn:aws:iam::${BOB_ACCOUNT}:user/bob`;

function saved(accountId: string, owner: string, name: string, extra: Partial<SavedQuery> = {}): SavedQuery {
  return {
    accountId,
    owner,
    name,
    statement: `SELECT '${name}' FROM x`,
    createdMs: 1_700_000_000_000,
    updatedMs: 1_700_000_000_000,
    ...extra,
  };
}

export function savedQueryStoreContractSuite(backend: string, place: () => Promise<StorePlace<SavedQueryStore>>): void {
  describe(`SavedQueryStore contract (${backend})`, () => {
    const withStore = async (
      body: (store: SavedQueryStore, reopen: () => Promise<SavedQueryStore>) => Promise<void>,
    ) => {
      const under = await place();
      try {
        await body(await under.open(), async () => under.open());
      } finally {
        await under.cleanup();
      }
    };

    it("keeps each owner's queries apart, in name byte order, across a reopen", () =>
      withStore(async (store, reopen) => {
        for (const name of ["b", "a", "Z", "é"]) await store.put(saved(ALICE_ACCOUNT, ALICE, name), 10);
        await store.put(saved(ALICE_ACCOUNT, CAROL, "a", { statement: "carol's" }), 10);
        await store.put(saved(BOB_ACCOUNT, BOB, "a", { statement: "bob's" }), 10);
        // Same owner ARN text in another account: still another owner.
        await store.put(saved(BOB_ACCOUNT, ALICE, "x"), 10);
        const again = await reopen();
        const alice = await again.list(ALICE_ACCOUNT, ALICE, { max: 10 });
        assert.deepEqual(
          alice.queries.map((q) => q.name),
          ["Z", "a", "b", "é"],
        );
        assert.equal(alice.nextAfter, undefined);
        assert.deepEqual(
          (await again.list(ALICE_ACCOUNT, CAROL, { max: 10 })).queries.map((q) => q.statement),
          ["carol's"],
        );
        assert.deepEqual(
          (await again.list(BOB_ACCOUNT, BOB, { max: 10 })).queries.map((q) => q.statement),
          ["bob's"],
        );
        assert.deepEqual(
          (await again.list(BOB_ACCOUNT, ALICE, { max: 10 })).queries.map((q) => q.name),
          ["x"],
        );
      }));

    it("replaces a saved name's statement and description, keeping its creation time", () =>
      withStore(async (store, reopen) => {
        const first = await store.put(saved(ALICE_ACCOUNT, ALICE, "q", { description: "first" }), 10);
        assert.equal(first.created, true);
        assert.deepEqual(first.saved, saved(ALICE_ACCOUNT, ALICE, "q", { description: "first" }));
        const second = await store.put(
          saved(ALICE_ACCOUNT, ALICE, "q", { statement: "SELECT 2", createdMs: 5, updatedMs: 1_800_000_000_000 }),
          10,
        );
        assert.equal(second.created, false);
        const expected = saved(ALICE_ACCOUNT, ALICE, "q", { statement: "SELECT 2", updatedMs: 1_800_000_000_000 });
        assert.deepEqual(second.saved, expected);
        assert.deepEqual((await (await reopen()).list(ALICE_ACCOUNT, ALICE, { max: 10 })).queries, [expected]);
      }));

    it("pages by name", () =>
      withStore(async (store) => {
        for (let i = 0; i < 5; i++) await store.put(saved(ALICE_ACCOUNT, ALICE, `q${i}`), 10);
        const first = await store.list(ALICE_ACCOUNT, ALICE, { max: 2 });
        assert.deepEqual([first.queries.map((q) => q.name), first.nextAfter], [["q0", "q1"], "q1"]);
        const second = await store.list(ALICE_ACCOUNT, ALICE, { max: 2, after: first.nextAfter! });
        assert.deepEqual([second.queries.map((q) => q.name), second.nextAfter], [["q2", "q3"], "q3"]);
        const last = await store.list(ALICE_ACCOUNT, ALICE, { max: 2, after: second.nextAfter! });
        assert.deepEqual([last.queries.map((q) => q.name), last.nextAfter], [["q4"], undefined]);
        const exact = await store.list(ALICE_ACCOUNT, ALICE, { max: 5 });
        assert.equal(exact.nextAfter, undefined);
      }));

    it("refuses a new name past the owner's limit, but still replaces a saved one", () =>
      withStore(async (store) => {
        await store.put(saved(ALICE_ACCOUNT, ALICE, "a"), 2);
        await store.put(saved(ALICE_ACCOUNT, ALICE, "b"), 2);
        assert.deepEqual(await store.put(saved(ALICE_ACCOUNT, ALICE, "c"), 2), { saved: undefined, created: false });
        assert.equal(
          (await store.put(saved(ALICE_ACCOUNT, ALICE, "b", { statement: "new" }), 2)).saved?.statement,
          "new",
        );
        // Another owner has a limit of its own.
        assert.equal((await store.put(saved(ALICE_ACCOUNT, CAROL, "c"), 2)).created, true);
        assert.equal((await store.list(ALICE_ACCOUNT, ALICE, { max: 10 })).queries.length, 2);
      }));

    it("holds the limit when two stores save new names for one owner at once", () =>
      withStore(async (store, reopen) => {
        const other = await reopen();
        const puts = Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? store : other).put(saved(ALICE_ACCOUNT, ALICE, `race-${i}`), 7),
        );
        const outcomes = await Promise.all(puts);
        assert.equal(outcomes.filter((o) => o.saved !== undefined).length, 7);
        assert.equal((await store.list(ALICE_ACCOUNT, ALICE, { max: 100 })).queries.length, 7);
      }));

    it("deletes only the owner's query of that name", () =>
      withStore(async (store, reopen) => {
        await store.put(saved(ALICE_ACCOUNT, ALICE, "q"), 10);
        await store.put(saved(ALICE_ACCOUNT, CAROL, "q"), 10);
        await store.put(saved(BOB_ACCOUNT, BOB, "q"), 10);
        assert.equal(await store.delete(BOB_ACCOUNT, ALICE, "q"), false);
        assert.equal(await store.delete(ALICE_ACCOUNT, ALICE, "q"), true);
        assert.equal(await store.delete(ALICE_ACCOUNT, ALICE, "q"), false);
        const again = await reopen();
        assert.equal((await again.list(ALICE_ACCOUNT, ALICE, { max: 10 })).queries.length, 0);
        assert.equal((await again.list(ALICE_ACCOUNT, CAROL, { max: 10 })).queries.length, 1);
        assert.equal((await again.list(BOB_ACCOUNT, BOB, { max: 10 })).queries.length, 1);
      }));

    it("keeps statements of any text, quotes and newlines included", () =>
      withStore(async (store, reopen) => {
        const statement = "SELECT 'it''s' AS \"x\"\n-- ünïcode ✓\nFROM store";
        await store.put(saved(ALICE_ACCOUNT, ALICE, "text", { statement, description: "" }), 10);
        const [got] = (await (await reopen()).list(ALICE_ACCOUNT, ALICE, { max: 1 })).queries;
        assert.equal(got?.statement, statement);
        assert.equal(got?.description, "");
      }));

    it("rejects every call once closed", () =>
      withStore(async (store) => {
        await store.close();
        await store.close();
        await assert.rejects(store.list(ALICE_ACCOUNT, ALICE, { max: 1 }), /closed/);
        await assert.rejects(store.put(saved(ALICE_ACCOUNT, ALICE, "q"), 1), /closed/);
        await assert.rejects(store.delete(ALICE_ACCOUNT, ALICE, "q"), /closed/);
      }));
  });
}
