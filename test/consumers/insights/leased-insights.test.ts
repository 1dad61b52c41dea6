import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { INSIGHTS_LEASE, InsightsRun, nextCloseMs } from "../../../src/consumers/insights/leased-insights.js";
import { toEventTime } from "../../../src/lib/clock.js";
import {
  InsightsFencedOffError,
  openPostgresInsightSeriesStore,
  type InsightSeriesStore,
} from "../../../src/stores/insights/index.js";
import { openPostgresLeaseStore, type LeaseStore } from "../../../src/stores/lease/index.js";
import { openPostgresDatabase, type PostgresDatabase } from "../../../src/stores/postgres/index.js";
import { MemoryJournal } from "../../helpers/memory-journal.js";
import { pollUntil } from "../../helpers/poll.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../../helpers/postgres-server.js";

const TTL_MS = 3_000;

function write(i: number): { json: string } {
  return {
    json: JSON.stringify({
      eventVersion: "1.11",
      eventTime: toEventTime(Date.UTC(2026, 5, 1, 12, 0, i)),
      eventSource: "iam.amazonaws.com",
      eventName: "CreateUser",
      awsRegion: "us-east-1",
      requestParameters: null,
      responseElements: null,
      eventID: `e-${i}`,
      readOnly: false,
      eventType: "AwsApiCall",
      managementEvent: true,
      recipientAccountId: "111111111111",
      eventCategory: "Management",
    }),
  };
}

describe("Insights under the cluster lease", { skip: postgresMissingReason() }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  it("runs on the lease holder only, moves to the other node when it stops, and fences the old holder off", async () => {
    const database = await server.createDatabase();
    const journal = new MemoryJournal();
    await journal.append(Array.from({ length: 5 }, (_, i) => write(i)));
    const opened: Array<{ db: PostgresDatabase; store: InsightSeriesStore; leases: LeaseStore }> = [];
    const node = async (holder: string) => {
      const db = openPostgresDatabase({ url: database.url });
      const parts = { db, store: await openPostgresInsightSeriesStore(db), leases: await openPostgresLeaseStore(db) };
      opened.push(parts);
      const run = new InsightsRun({
        store: parts.store,
        journal,
        clock: { nowMs: () => Date.now() },
        settings: {
          baselineMinutes: 10_080,
          thresholdSigma: 6,
          minimumRate: 10,
          quietMinutes: 5,
          detectionDelayMs: 60_000,
        },
        enabledTypes: async () => new Set(),
        quarantine: { add: async () => assert.fail("nothing is quarantined") },
        tickMs: 1_000,
        report: () => undefined,
        leases: { store: parts.leases, holder, ttlMs: TTL_MS },
      });
      await run.start();
      return { run, ...parts };
    };
    try {
      const a = await node("a");
      const b = await node("b");
      assert.deepEqual(a.run.leasesHeld(), [INSIGHTS_LEASE]);
      assert.deepEqual(b.run.leasesHeld(), []);
      await pollUntil(async () => (await a.store.cursor()) === 5, { message: "a counts the journal" });
      const tokenOfA = (await a.leases.acquire(INSIGHTS_LEASE, "a", TTL_MS))!.fencingToken;
      await a.run.close();
      await journal.append([write(10), write(11)]);
      await pollUntil(() => b.run.leasesHeld().includes(INSIGHTS_LEASE), {
        timeoutMs: 10_000,
        message: "b takes over",
      });
      await pollUntil(async () => (await b.store.cursor()) === 7, { message: "b counts from where a stopped" });
      assert.equal(b.run.cursor(), 7);
      const minute = Date.UTC(2026, 5, 1, 12, 0);
      const key = {
        accountId: "111111111111",
        region: "us-east-1",
        insightType: "ApiCallRateInsight" as const,
        eventSource: "iam.amazonaws.com",
        eventName: "CreateUser",
        errorCode: "",
      };
      assert.deepEqual(await b.store.minuteCounts(key, minute, minute + 60_000), [{ timeMs: minute, count: 7 }]);
      await assert.rejects(
        a.store.addCounts({ toSeq: 100, counts: [], regions: [] }, { fencingToken: tokenOfA }),
        InsightsFencedOffError,
      );
      await b.run.close();
    } finally {
      for (const { db } of opened) await db.close();
      await database.drop();
    }
  });
});

describe("Insights run's judging at each minute's close", () => {
  it("is due half a second after a minute's end plus the delay, always after now", () => {
    const minute = Date.UTC(2026, 5, 1, 12, 0);
    // The minute [12:00, 12:01) closes at 12:02:00 with a 60 s delay.
    assert.equal(nextCloseMs(minute + 61_000, 60_000), minute + 120_500);
    assert.equal(nextCloseMs(minute + 120_499, 60_000), minute + 120_500);
    assert.equal(nextCloseMs(minute + 120_500, 60_000), minute + 180_500);
    assert.equal(nextCloseMs(minute + 5_000, 0), minute + 60_500);
    assert.equal(nextCloseMs(minute + 5_000, 90_000), minute + 30_500);
  });
});
