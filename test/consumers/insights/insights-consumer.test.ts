import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { InsightsConsumer, type InsightsSettings } from "../../../src/consumers/insights/insights-consumer.js";
import { toEventTime } from "../../../src/lib/clock.js";
import {
  openSqliteInsightSeriesStore,
  type InsightSeriesStore,
  type InsightType,
} from "../../../src/stores/insights/index.js";
import { MemoryJournal } from "../../helpers/memory-journal.js";

const ACCOUNT = "111111111111";
const REGION = "us-east-1";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const WEEK = 7 * 24 * HOUR;
const SPIKE = Date.UTC(2026, 5, 10, 12, 30);
const SETTINGS: InsightsSettings = {
  baselineMinutes: 7 * 1440,
  thresholdSigma: 6,
  minimumRate: 10,
  quietMinutes: 3,
  detectionDelayMs: 60_000,
};

let n = 0;
function call(timeMs: number, extra: Record<string, unknown> = {}): { json: string } {
  n++;
  return {
    json: JSON.stringify({
      eventVersion: "1.11",
      userIdentity: { type: "IAMUser", arn: `arn:aws:iam::${ACCOUNT}:user/steady`, accountId: ACCOUNT },
      eventTime: toEventTime(timeMs),
      eventSource: "iam.amazonaws.com",
      eventName: "CreateUser",
      awsRegion: REGION,
      userAgent: "aws-cli/1.0",
      requestParameters: null,
      responseElements: null,
      eventID: `e-${n}`,
      readOnly: false,
      eventType: "AwsApiCall",
      managementEvent: true,
      recipientAccountId: ACCOUNT,
      eventCategory: "Management",
      ...extra,
    }),
  };
}

/** Two calls an hour over the week (and an hour) before the spike, then `spike` at SPIKE. */
function history(spike: Array<{ json: string }>): Array<{ json: string }> {
  const items: Array<{ json: string }> = [];
  for (let t = SPIKE - WEEK - HOUR; t < SPIKE - HOUR; t += 30 * MINUTE) items.push(call(t));
  return [...items, ...spike];
}

interface Ranked {
  value: string;
  average: number;
}
interface Attribution {
  attribute: string;
  insight: Ranked[];
  baseline: Ranked[];
}
/** The members of an Insights record (spec §8.2) these tests read. */
interface InsightRecord {
  eventType: string;
  eventCategory: string;
  eventTime: string;
  eventID: string;
  sharedEventID: string;
  recipientAccountId: string;
  userIdentity?: unknown;
  eventSource?: unknown;
  insightDetails: {
    state: string;
    eventSource: string;
    eventName: string;
    insightType: string;
    errorCode?: string;
    insightContext: {
      statistics: {
        baseline: { average: number };
        insight: { average: number };
        insightDuration: number;
        baselineDuration: number;
      };
      attributions: Attribution[];
    };
  };
}

const spiker = { arn: `arn:aws:iam::${ACCOUNT}:user/spiker`, type: "IAMUser", accountId: ACCOUNT };

describe("Insights consumer", () => {
  let directory: string;
  before(async () => (directory = await mkdtemp(join(tmpdir(), "cairn-insights-consumer-"))));
  after(() => rm(directory, { recursive: true, force: true }));

  /** `enabled`: management types, or kinds ("Data/ApiCallRateInsight"). */
  async function run(items: Array<{ json: string }>, enabled: Array<InsightType | string>, nowMs: number) {
    const store: InsightSeriesStore = openSqliteInsightSeriesStore(join(directory, `${n}-insights.db`));
    const journal = new MemoryJournal(() => nowMs);
    await journal.append(items);
    const consumer = new InsightsConsumer({
      store,
      journal,
      clock: { nowMs: () => nowMs },
      settings: SETTINGS,
      enabledTypes: async () => new Set(enabled.map((e) => (e.includes("/") ? e : `Management/${e}`))),
    });
    const head = journal.headSeq();
    await consumer.handle(await journal.read((await consumer.loadCursor()) + 1, head));
    const insights = async () =>
      (await journal.read(head + 1, 100)).map((entry) => JSON.parse(entry.json) as InsightRecord);
    return { store, journal, consumer, insights, head };
  }

  it("records a Start and an End for a spike of writes, with the statistics and attributions of spec §8.2", async () => {
    const spike = Array.from({ length: 40 }, (_, i) =>
      call(SPIKE + i * 1000, { userIdentity: spiker, userAgent: i < 30 ? "spiky/1" : "spiky/2" }),
    );
    // One event well after the spike closes its minute and the quiet minutes by eventTime.
    const items = [...history(spike), call(SPIKE + 20 * MINUTE)];
    const { store, consumer, insights } = await run(items, ["ApiCallRateInsight"], SPIKE + HOUR);
    const records = await insights();
    assert.deepEqual(
      records.map((r) => r.insightDetails.state),
      ["Start", "End"],
    );
    const [start, end] = records as [InsightRecord, InsightRecord];
    assert.equal(start["eventType"], "AwsCloudTrailInsight");
    assert.equal(start["eventCategory"], "Insight");
    assert.equal(start["eventTime"], toEventTime(SPIKE));
    assert.equal(end["eventTime"], toEventTime(SPIKE + MINUTE));
    assert.equal(start["sharedEventID"], end["sharedEventID"]);
    assert.notEqual(start["eventID"], end["eventID"]);
    assert.equal(start["recipientAccountId"], ACCOUNT);
    assert.equal(start["userIdentity"], undefined);
    assert.equal(start["eventSource"], undefined);
    const details = start["insightDetails"];
    assert.equal(details.eventSource, "iam.amazonaws.com");
    assert.equal(details.eventName, "CreateUser");
    assert.equal(details.insightType, "ApiCallRateInsight");
    assert.equal(details.errorCode, undefined);
    const stats = details.insightContext.statistics;
    // The baseline [SPIKE − 1 week, SPIKE) holds 2 calls an hour for its first 167 hours.
    assert.equal(stats.baseline.average, Number(((167 * 2) / 10_080).toPrecision(6)));
    assert.equal(stats.insight.average, 40);
    assert.equal(stats.insightDuration, 1);
    assert.equal(stats.baselineDuration, 10_080);
    const byAttribute = Object.fromEntries(details.insightContext.attributions.map((a) => [a.attribute, a]));
    assert.deepEqual(byAttribute.userIdentityArn!.insight, [{ value: spiker.arn, average: 40 }]);
    assert.deepEqual(byAttribute.userAgent!.insight, [
      { value: "spiky/1", average: 30 },
      { value: "spiky/2", average: 10 },
    ]);
    assert.deepEqual(byAttribute.errorCode!.insight, [{ value: "null", average: 40 }]);
    assert.deepEqual(byAttribute.userIdentityArn!.baseline, [
      { value: `arn:aws:iam::${ACCOUNT}:user/steady`, average: stats.baseline.average },
    ]);
    assert.equal(end["insightDetails"].insightContext.statistics.insight.average, 40);
    // Judging again (a restart, the timer) appends nothing more.
    await consumer.tick();
    assert.equal((await insights()).length, 2);
    await store.close();
  });

  it("keeps NUL out of series and attributions (PostgreSQL text cannot hold it): U+FFFD instead", async () => {
    const spike = Array.from({ length: 40 }, (_, i) =>
      call(SPIKE + i * 1000, { userIdentity: spiker, userAgent: "evil\u0000agent", eventName: "Create\u0000User" }),
    );
    const { store, insights } = await run(
      [...history(spike), call(SPIKE + 20 * MINUTE)],
      ["ApiCallRateInsight"],
      SPIKE + HOUR,
    );
    const [start] = await insights();
    assert.equal(start!.insightDetails.eventName, "Create\uFFFDUser");
    const userAgent = start!.insightDetails.insightContext.attributions.find((a) => a.attribute === "userAgent");
    assert.deepEqual(userAgent!.insight, [{ value: "evil\uFFFDagent", average: 40 }]);
    await store.close();
  });

  it("counts data calls, read or write, in series of their own, and marks their Insights Data", async () => {
    const data = { eventSource: "s3.amazonaws.com", eventName: "GetObject", readOnly: true, managementEvent: false };
    const reads = Array.from({ length: 40 }, (_, i) =>
      call(SPIKE + i * 1000, { ...data, eventCategory: "Data", userIdentity: spiker }),
    );
    // A management GetObject-named series would be another one: the data spike alone is unusual.
    // Each run its own store (named after the call counter).
    const items = () => [...history(reads), call(SPIKE + 20 * MINUTE)];
    const onlyManagement = await run(items(), ["ApiCallRateInsight", "ApiErrorRateInsight"], SPIKE + HOUR);
    assert.deepEqual(await onlyManagement.insights(), []);
    await onlyManagement.store.close();
    const { store, insights } = await run(items(), ["Data/ApiCallRateInsight"], SPIKE + HOUR);
    const records = await insights();
    assert.deepEqual(
      records.map((r) => [r.insightDetails.state, r.insightDetails.eventName, r.insightDetails.insightType]),
      [
        ["Start", "GetObject", "ApiCallRateInsight"],
        ["End", "GetObject", "ApiCallRateInsight"],
      ],
    );
    assert.equal((records[0]!.insightDetails as { eventCategory?: string }).eventCategory, "Data");
    assert.equal(records[0]!.eventCategory, "Insight");
    assert.equal(records[0]!.insightDetails.insightContext.statistics.insight.average, 40);
    assert.equal(records[0]!.insightDetails.insightContext.statistics.baseline.average, 0);
    await store.close();
  });

  it("records a burst of AccessDenied as an ApiErrorRateInsight naming the error code", async () => {
    const denied = Array.from({ length: 30 }, (_, i) =>
      call(SPIKE + i * 1000, {
        userIdentity: spiker,
        errorCode: "AccessDenied",
        readOnly: true,
        eventName: "ListUsers",
      }),
    );
    const { store, insights } = await run(
      [...history(denied), call(SPIKE + 20 * MINUTE)],
      ["ApiErrorRateInsight"],
      SPIKE + HOUR,
    );
    const records = await insights();
    assert.deepEqual(
      records.map((r) => [r.insightDetails.state, r["insightDetails"].insightType, r["insightDetails"].errorCode]),
      [
        ["Start", "ApiErrorRateInsight", "AccessDenied"],
        ["End", "ApiErrorRateInsight", "AccessDenied"],
      ],
    );
    const start = records[0]!.insightDetails;
    assert.equal(start.eventName, "ListUsers");
    assert.equal(start.insightContext.statistics.baseline.average, 0);
    assert.deepEqual(start.insightContext.attributions[2], {
      attribute: "errorCode",
      insight: [{ value: "AccessDenied", average: 30 }],
      baseline: [],
    });
    await store.close();
  });

  it("closes the minutes of an account gone quiet by the wall clock", async () => {
    const spike = Array.from({ length: 40 }, (_, i) => call(SPIKE + i * 1000, { userIdentity: spiker }));
    let now = SPIKE + 30_000;
    const store = openSqliteInsightSeriesStore(join(directory, "quiet-insights.db"));
    const journal = new MemoryJournal(() => now);
    await journal.append(history(spike));
    const consumer = new InsightsConsumer({
      store,
      journal,
      clock: { nowMs: () => now },
      settings: SETTINGS,
      enabledTypes: async () => new Set(["Management/ApiCallRateInsight"]),
    });
    const head = journal.headSeq();
    await consumer.handle(await journal.read(1, head));
    assert.equal(journal.headSeq(), head);
    now = SPIKE + 2 * MINUTE;
    await consumer.tick();
    const states = (await journal.read(head + 1, 10)).map(
      (e) => (JSON.parse(e.json) as InsightRecord).insightDetails.state,
    );
    assert.deepEqual(states, ["Start"]);
    now = SPIKE + 10 * MINUTE;
    await consumer.tick();
    const all = (await journal.read(head + 1, 10)).map(
      (e) => (JSON.parse(e.json) as InsightRecord).insightDetails.state,
    );
    assert.deepEqual(all, ["Start", "End"]);
    await store.close();
  });

  it("closes a live account's minutes by the wall clock between sparse calls, a delay after they end", async () => {
    const spike = Array.from({ length: 40 }, (_, i) => call(SPIKE + i * 1000, { userIdentity: spiker }));
    let now = SPIKE + 40_000;
    const store = openSqliteInsightSeriesStore(join(directory, "sparse-insights.db"));
    const journal = new MemoryJournal(() => now);
    await journal.append(history(spike));
    const consumer = new InsightsConsumer({
      store,
      journal,
      clock: { nowMs: () => now },
      settings: SETTINGS,
      enabledTypes: async () => new Set(["Management/ApiCallRateInsight"]),
    });
    await consumer.handle(await journal.read(1, journal.headSeq()));
    // A call 110 s into the spike's minute: its eventTime closes only the minute before the spike.
    now = SPIKE + 110_000;
    await journal.append([call(now, { eventSource: "ec2.amazonaws.com", eventName: "CreateTags" })]);
    const head = journal.headSeq();
    await consumer.handle(await journal.read(head, 1));
    assert.equal(journal.headSeq(), head);
    // 11 s later, under the delay since that call: the clock has carried its eventTime past the
    // spike's minute's end plus the delay; waiting for the next call would have been up to a delay late.
    now = SPIKE + 121_000;
    await consumer.tick();
    const states = (await journal.read(head + 1, 10)).map(
      (e) => (JSON.parse(e.json) as InsightRecord).insightDetails.state,
    );
    assert.deepEqual(states, ["Start"]);
    await store.close();
  });

  it("does not close, by the wall clock, a minute that history sent in eventTime order may still add to", async () => {
    let now = SPIKE + 24 * HOUR;
    const store = openSqliteInsightSeriesStore(join(directory, "import-insights.db"));
    const journal = new MemoryJournal(() => now);
    const consumer = new InsightsConsumer({
      store,
      journal,
      clock: { nowMs: () => now },
      settings: SETTINGS,
      enabledTypes: async () => new Set(["Management/ApiCallRateInsight"]),
    });
    // The import's first part ends a second before the spike's minute; the next part comes 50 s later.
    await journal.append([...history([]), call(SPIKE - 1000)]);
    await consumer.handle(await journal.read(1, journal.headSeq()));
    now += 50_000;
    await consumer.tick();
    const head = journal.headSeq();
    const spike = Array.from({ length: 40 }, (_, i) => call(SPIKE + i * 1000, { userIdentity: spiker }));
    await journal.append([...spike, call(SPIKE + 20 * MINUTE)]);
    await consumer.handle(await journal.read(head + 1, 100));
    const records = (await journal.read(head + 42, 10)).map((e) => JSON.parse(e.json) as InsightRecord);
    assert.deepEqual(
      records.map((r) => [r.insightDetails.state, r.insightDetails.insightContext.statistics.insight.average]),
      [
        ["Start", 40],
        ["End", 40],
      ],
    );
    await store.close();
  });

  it("records nothing for a type no trail selects, nor for a steady load", async () => {
    const spike = Array.from({ length: 40 }, (_, i) => call(SPIKE + i * 1000));
    const off = await run([...history(spike), call(SPIKE + 20 * MINUTE)], [], SPIKE + HOUR);
    assert.deepEqual(await off.insights(), []);
    await off.store.close();
    const steady: Array<{ json: string }> = [];
    for (let t = SPIKE - WEEK - HOUR; t < SPIKE + HOUR; t += 15_000) steady.push(call(t));
    const on = await run(steady, ["ApiCallRateInsight", "ApiErrorRateInsight"], SPIKE + 2 * HOUR);
    assert.deepEqual(await on.insights(), []);
    assert.ok((await on.store.pendingSeries(ACCOUNT, REGION, SPIKE)).length === 0);
    await on.store.close();
  });
});
