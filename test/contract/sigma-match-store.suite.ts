import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NewSigmaMatch, SigmaMatchStore } from "../../src/stores/sigma/index.js";

/**
 * The SigmaMatchStore contract (src/stores/sigma/sigma-store.ts), run against every backend, as
 * sigma-rule-store.suite.ts.
 */
export interface SigmaMatchStoreUnderTest {
  open(): SigmaMatchStore | Promise<SigmaMatchStore>;
  cleanup(): Promise<void>;
}

const ALICE = "111111111111";
const BOB = "222222222222";
const T0 = Date.parse("2026-01-01T00:00:00Z");

function match(accountId: string, ruleId: string, eventID: string, seq: number, extra: Partial<NewSigmaMatch> = {}) {
  const eventTime = new Date(T0 + seq * 60_000).toISOString();
  const made: NewSigmaMatch = {
    accountId,
    ruleId,
    title: `rule ${ruleId}`,
    level: "high",
    kind: "detection",
    eventID,
    eventTime,
    events: [{ eventID, eventTime }],
    matchedAtMs: T0 + seq * 60_000 + 5,
    seq,
    ...extra,
  };
  return made;
}

export function sigmaMatchStoreContractSuite(backend: string, place: () => Promise<SigmaMatchStoreUnderTest>): void {
  describe(`SigmaMatchStore contract (${backend})`, () => {
    const withStore = async (
      body: (store: SigmaMatchStore, reopen: () => Promise<SigmaMatchStore>) => Promise<void>,
    ) => {
      const under = await place();
      try {
        await body(await under.open(), async () => under.open());
      } finally {
        await under.cleanup();
      }
    };

    it("commits matches with the cursor, and gives them back as stored with growing ids", () =>
      withStore(async (store, reopen) => {
        assert.equal(await store.cursor(), 0);
        const correlation = match(ALICE, "c", "e3", 3, {
          kind: "correlation",
          events: [
            { eventID: "e1", eventTime: "2026-01-01T00:01:00Z" },
            { eventID: "e3", eventTime: "2026-01-01T00:03:00Z" },
          ],
          groupBy: { sourceIPAddress: "192.0.2.1" },
        });
        assert.equal(await store.commit([match(ALICE, "d", "e1", 1), correlation], 7), 2);
        const again = await reopen();
        assert.equal(await again.cursor(), 7);
        const listed = await again.listMatches({ accountId: ALICE, limit: 10 });
        assert.equal(listed.length, 2);
        assert.ok(listed[0]!.id < listed[1]!.id);
        const { id: _id, ...stored } = listed[1]!;
        assert.deepEqual(stored, correlation);
      }));

    it("stores a match once (rule id and eventIDs), and never moves the cursor back", () =>
      withStore(async (store) => {
        await store.commit([match(ALICE, "d", "e1", 1)], 5);
        assert.equal(
          await store.commit([match(ALICE, "d", "e1", 1, { matchedAtMs: 99 }), match(ALICE, "d", "e2", 2)], 3),
          1,
        );
        assert.equal(await store.cursor(), 5);
        // The same record matching another rule, or in another account, is another match.
        assert.equal(await store.commit([match(ALICE, "x", "e1", 1), match(BOB, "d", "e1", 1)], 6), 2);
        assert.equal((await store.listMatches({ accountId: ALICE, limit: 10 })).length, 3);
      }));

    it("lists an account's matches only, by rule and eventTime range, a page at a time", () =>
      withStore(async (store) => {
        await store.commit(
          [
            match(ALICE, "a", "e1", 1),
            match(BOB, "a", "e2", 2),
            match(ALICE, "b", "e3", 3),
            match(ALICE, "a", "e4", 4),
            match(ALICE, "a", "e5", 5),
          ],
          5,
        );
        const ids = (matches: { eventID: string }[]) => matches.map((one) => one.eventID);
        assert.deepEqual(ids(await store.listMatches({ accountId: ALICE, limit: 10 })), ["e1", "e3", "e4", "e5"]);
        assert.deepEqual(ids(await store.listMatches({ accountId: ALICE, ruleId: "a", limit: 10 })), [
          "e1",
          "e4",
          "e5",
        ]);
        const range = { startMs: T0 + 3 * 60_000, endMs: T0 + 4 * 60_000 };
        assert.deepEqual(ids(await store.listMatches({ accountId: ALICE, ...range, limit: 10 })), ["e3", "e4"]);
        const first = await store.listMatches({ accountId: ALICE, limit: 2 });
        assert.deepEqual(ids(first), ["e1", "e3"]);
        const rest = await store.listMatches({ accountId: ALICE, afterId: first[1]!.id, limit: 2 });
        assert.deepEqual(ids(rest), ["e4", "e5"]);
      }));

    it("hands a follower every account's matches after an id, and trims old ones without reusing ids", () =>
      withStore(async (store) => {
        await store.commit([match(ALICE, "a", "e1", 1), match(BOB, "a", "e2", 2), match(ALICE, "a", "e3", 3)], 3);
        const all = await store.matchesAfter(0, 10);
        assert.deepEqual(
          all.map((one) => one.eventID),
          ["e1", "e2", "e3"],
        );
        assert.deepEqual(
          (await store.matchesAfter(all[0]!.id, 1)).map((one) => one.eventID),
          ["e2"],
        );
        assert.equal(await store.trim(T0 + 2 * 60_000 + 6), 2);
        assert.deepEqual(
          (await store.matchesAfter(0, 10)).map((one) => one.eventID),
          ["e3"],
        );
        await store.commit([match(ALICE, "a", "e4", 4)], 4);
        const [, fourth] = await store.matchesAfter(0, 10);
        assert.ok(fourth!.id > all[2]!.id);
      }));

    it("refuses every call once closed", () =>
      withStore(async (store) => {
        await store.close();
        await assert.rejects(store.cursor(), /closed/);
      }));
  });
}
