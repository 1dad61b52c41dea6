import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  InsightsFencedOffError,
  MINUTE_MS,
  type InsightSeriesStore,
  type MinuteCount,
  type SeriesKey,
} from "../../src/stores/insights/index.js";

/**
 * The InsightSeriesStore contract (src/stores/insights/insight-series-store.ts), run against every
 * backend. The factory is called once per test and returns an empty place; `open()` opens a new store
 * over it each time, as a restart (or another node) would.
 */
export interface InsightSeriesStoreUnderTest {
  open(): InsightSeriesStore | Promise<InsightSeriesStore>;
  cleanup(): Promise<void>;
}

const DAY_MS = 86_400_000;
const T0 = Date.UTC(2026, 2, 1, 10, 0);
const WRITES: SeriesKey = {
  accountId: "111111111111",
  region: "us-east-1",
  insightType: "ApiCallRateInsight",
  eventSource: "iam.amazonaws.com",
  eventName: "CreateUser",
  errorCode: "",
};
const DENIED: SeriesKey = { ...WRITES, insightType: "ApiErrorRateInsight", errorCode: "AccessDenied" };
const OTHER_ACCOUNT: SeriesKey = { ...WRITES, accountId: "222222222222" };

function minute(
  key: SeriesKey,
  minuteMs: number,
  count: number,
  arn = "arn:aws:iam::111111111111:user/a",
): MinuteCount {
  return {
    key,
    minuteMs,
    count,
    attributions: [
      { attribute: "userIdentityArn", value: arn, count },
      { attribute: "errorCode", value: key.errorCode === "" ? "null" : key.errorCode, count },
    ],
  };
}

const region = (newestEventMs: number, oldestEventMs: number, lastArrivalMs: number) => ({
  accountId: WRITES.accountId,
  region: WRITES.region,
  newestEventMs,
  oldestEventMs,
  lastArrivalMs,
});

export function insightSeriesStoreContractSuite(
  name: string,
  create: () => Promise<InsightSeriesStoreUnderTest>,
): void {
  async function withStore(body: (store: InsightSeriesStore, place: InsightSeriesStoreUnderTest) => Promise<void>) {
    const place = await create();
    try {
      await body(await place.open(), place);
    } finally {
      await place.cleanup();
    }
  }

  describe(`InsightSeriesStore contract: ${name}`, () => {
    it("sums counts into 1-, 5- and 60-minute points and moves the cursor with them; a replay changes nothing", () =>
      withStore(async (store, place) => {
        assert.equal(await store.cursor(), 0);
        const batch = {
          toSeq: 7,
          counts: [minute(WRITES, T0, 3), minute(WRITES, T0 + MINUTE_MS, 4), minute(WRITES, T0, 2)],
          regions: [region(T0 + MINUTE_MS, T0, 1000)],
        };
        assert.equal(await store.addCounts(batch), true);
        assert.equal(await store.addCounts(batch), false);
        const reopened = await place.open();
        assert.equal(await reopened.cursor(), 7);
        assert.deepEqual(await reopened.minuteCounts(WRITES, T0, T0 + 10 * MINUTE_MS), [
          { timeMs: T0, count: 5 },
          { timeMs: T0 + MINUTE_MS, count: 4 },
        ]);
        assert.deepEqual(await reopened.points(WRITES, 300, T0 - DAY_MS, T0 + DAY_MS, 100), [{ timeMs: T0, count: 9 }]);
        assert.deepEqual(await reopened.points(WRITES, 3600, T0 - DAY_MS, T0 + DAY_MS, 100), [
          { timeMs: T0, count: 9 },
        ]);
        assert.deepEqual(await reopened.points(WRITES, 60, T0, T0 + DAY_MS, 1), [{ timeMs: T0, count: 5 }]);
        assert.deepEqual(await reopened.minuteCounts(OTHER_ACCOUNT, T0, T0 + DAY_MS), []);
        assert.deepEqual(await reopened.attributionTotals(WRITES, T0, T0 + MINUTE_MS), [
          { attribute: "errorCode", value: "null", count: 5 },
          { attribute: "userIdentityArn", value: "arn:aws:iam::111111111111:user/a", count: 5 },
        ]);
      }));

    it("keeps a data-event series apart from the management series of the same API", () =>
      withStore(async (store, place) => {
        const data: SeriesKey = { ...WRITES, eventCategory: "Data" };
        await store.addCounts({ toSeq: 1, counts: [minute(WRITES, T0, 2), minute(data, T0, 7)], regions: [] });
        const reopened = await place.open();
        assert.deepEqual(await reopened.minuteCounts(WRITES, T0, T0 + MINUTE_MS), [{ timeMs: T0, count: 2 }]);
        assert.deepEqual(await reopened.minuteCounts(data, T0, T0 + MINUTE_MS), [{ timeMs: T0, count: 7 }]);
        assert.deepEqual(await reopened.points(data, 3600, T0 - DAY_MS, T0 + DAY_MS, 10), [{ timeMs: T0, count: 7 }]);
        assert.deepEqual(
          (await reopened.attributionTotals(data, T0, T0 + MINUTE_MS)).find((a) => a.attribute === "userIdentityArn"),
          { attribute: "userIdentityArn", value: "arn:aws:iam::111111111111:user/a", count: 7 },
        );
        const pending = await reopened.pendingSeries(WRITES.accountId, WRITES.region, T0 + DAY_MS);
        assert.deepEqual(
          pending.map((s) => s.key).sort((a, b) => (a.eventCategory ?? "").localeCompare(b.eventCategory ?? "")),
          [WRITES, data],
        );
      }));

    it("keeps the activity of each account and region: newest and oldest eventTime, last arrival", () =>
      withStore(async (store) => {
        await store.addCounts({ toSeq: 1, counts: [], regions: [region(T0, T0, 50)] });
        await store.addCounts({ toSeq: 2, counts: [], regions: [region(T0 - DAY_MS, T0 - DAY_MS, 40)] });
        await store.addCounts({ toSeq: 3, counts: [], regions: [region(T0 + DAY_MS, T0, 60)] });
        assert.deepEqual(await store.regions(), [region(T0 + DAY_MS, T0 - DAY_MS, 60)]);
      }));

    it("lists series to judge until saved past their data, and while an anomaly is open", () =>
      withStore(async (store, place) => {
        await store.addCounts({
          toSeq: 1,
          counts: [minute(WRITES, T0 + 5 * MINUTE_MS, 1), minute(DENIED, T0 + 9 * MINUTE_MS, 2)],
          regions: [],
        });
        // Earlier data of a series not judged yet moves its start back.
        await store.addCounts({ toSeq: 2, counts: [minute(WRITES, T0 + 2 * MINUTE_MS, 1)], regions: [] });
        const pending = await store.pendingSeries(WRITES.accountId, WRITES.region, T0 + 60 * MINUTE_MS);
        assert.deepEqual(
          pending.map((s) => [s.key.insightType, s.judgedThroughMs, s.lastDataMs]),
          [
            ["ApiCallRateInsight", T0 + MINUTE_MS, T0 + 5 * MINUTE_MS],
            ["ApiErrorRateInsight", T0 + 8 * MINUTE_MS, T0 + 9 * MINUTE_MS],
          ],
        );
        assert.deepEqual(await store.pendingSeries(WRITES.accountId, WRITES.region, T0 + MINUTE_MS), []);
        const anomaly = {
          startMs: T0 + 9 * MINUTE_MS,
          lastHotMs: T0 + 9 * MINUTE_MS,
          callsToLastHot: 2,
          callsSoFar: 2,
          baselineAverage: 0.5,
          sharedEventId: "s",
          reported: true,
        };
        await store.saveStates([
          { ...pending[0]!, judgedThroughMs: T0 + 10 * MINUTE_MS },
          { ...pending[1]!, judgedThroughMs: T0 + 10 * MINUTE_MS, anomaly },
        ]);
        const reopened = await place.open();
        const still = await reopened.pendingSeries(WRITES.accountId, WRITES.region, T0 + 60 * MINUTE_MS);
        assert.deepEqual(still, [
          { key: DENIED, judgedThroughMs: T0 + 10 * MINUTE_MS, lastDataMs: T0 + 9 * MINUTE_MS, anomaly },
        ]);
        // Late data of a judged series is counted, not judged again.
        await reopened.addCounts({ toSeq: 3, counts: [minute(WRITES, T0, 1)], regions: [] });
        assert.deepEqual(
          (await reopened.pendingSeries(WRITES.accountId, WRITES.region, T0 + 60 * MINUTE_MS)).map((s) => s.key),
          [DENIED],
        );
        assert.deepEqual(await reopened.pendingSeries(OTHER_ACCOUNT.accountId, WRITES.region, T0 + DAY_MS), []);
      }));

    it("refuses writes under a lower fencing token once one claimed the series", () =>
      withStore(async (store) => {
        await store.addCounts({ toSeq: 4, counts: [minute(WRITES, T0, 1)], regions: [] });
        assert.equal(await store.claim(5), 4);
        await assert.rejects(
          store.addCounts({ toSeq: 5, counts: [minute(WRITES, T0, 1)], regions: [] }, { fencingToken: 4 }),
          InsightsFencedOffError,
        );
        await assert.rejects(
          store.addCounts({ toSeq: 5, counts: [minute(WRITES, T0, 1)], regions: [] }),
          InsightsFencedOffError,
        );
        await assert.rejects(store.claim(3), InsightsFencedOffError);
        assert.equal(
          await store.addCounts({ toSeq: 5, counts: [minute(WRITES, T0, 1)], regions: [] }, { fencingToken: 5 }),
          true,
        );
        const [state] = await store.pendingSeries(WRITES.accountId, WRITES.region, T0 + DAY_MS);
        await assert.rejects(
          store.saveStates([{ ...state!, judgedThroughMs: T0 }], { fencingToken: 4 }),
          InsightsFencedOffError,
        );
        assert.deepEqual(await store.minuteCounts(WRITES, T0, T0 + MINUTE_MS), [{ timeMs: T0, count: 2 }]);
      }));

    it("prunes each period after its retention: 1-minute 15 days, 5-minute 63, 1-hour 90", () =>
      withStore(async (store) => {
        const old = T0 - 20 * DAY_MS;
        await store.addCounts({ toSeq: 1, counts: [minute(WRITES, old, 3), minute(WRITES, T0, 1)], regions: [] });
        await store.prune(T0);
        assert.deepEqual(await store.minuteCounts(WRITES, 0, T0 + DAY_MS), [{ timeMs: T0, count: 1 }]);
        assert.equal((await store.points(WRITES, 300, 0, T0 + DAY_MS, 10)).length, 2);
        assert.deepEqual(await store.attributionTotals(WRITES, 0, T0), []);
        await store.prune(old + 70 * DAY_MS);
        assert.deepEqual(await store.points(WRITES, 300, 0, old + DAY_MS, 10), []);
        assert.equal((await store.points(WRITES, 3600, 0, old + DAY_MS, 10)).length, 1);
        await store.prune(old + 91 * DAY_MS);
        assert.deepEqual(await store.points(WRITES, 3600, 0, old + DAY_MS, 10), []);
      }));
  });
}
