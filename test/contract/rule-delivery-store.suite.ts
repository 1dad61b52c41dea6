import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type {
  DeliveryFailureRecord,
  PendingDelivery,
  RuleDeliveryStore,
} from "../../src/stores/rule-deliveries/index.js";

/**
 * The RuleDeliveryStore contract (src/stores/rule-deliveries/rule-delivery-store.ts), run against
 * every implementation. The factory is called once per test and returns an empty place; `open()`
 * opens a new store over it each time, as a restart (or another node) would.
 */
export interface RuleDeliveryStoreUnderTest {
  open(): RuleDeliveryStore | Promise<RuleDeliveryStore>;
  cleanup(): Promise<void>;
}

const RULE = "arn:aws:events:us-east-1:111111111111:rule/tampering";
const OTHER_RULE = "arn:aws:events:us-east-1:111111111111:rule/other";
const T0 = 1_700_000_000_000;

function pending(seq: number, extra: Partial<PendingDelivery> = {}): PendingDelivery {
  return {
    ruleArn: RULE,
    targetId: "1",
    origin: "journal",
    seq,
    accountId: "111111111111",
    firstAttemptAtMs: T0,
    attemptsMade: 0,
    nextAttemptAtMs: T0,
    ...extra,
  };
}

function failure(seq: number, extra: Partial<DeliveryFailureRecord> = {}): DeliveryFailureRecord {
  return {
    accountId: "111111111111",
    ruleArn: RULE,
    targetId: "1",
    targetArn: "arn:aws:events:us-east-1:111111111111:api-destination/pager/1",
    eventId: `env-${seq}`,
    recordEventId: `rec-${seq}`,
    journalSeq: seq,
    reason: "not-retryable",
    attempts: 1,
    lastHttpStatus: 403,
    lastError: "HTTP 403",
    firstAttemptTime: new Date(T0).toISOString(),
    lastAttemptTime: new Date(T0).toISOString(),
    failedTime: new Date(T0 + seq).toISOString(),
    ...extra,
  };
}

export function ruleDeliveryStoreContractSuite(
  backend: string,
  factory: () => Promise<RuleDeliveryStoreUnderTest>,
): void {
  async function withStore(body: (store: RuleDeliveryStore, place: RuleDeliveryStoreUnderTest) => Promise<void>) {
    const place = await factory();
    try {
      await body(await place.open(), place);
    } finally {
      await place.cleanup();
    }
  }

  describe(`RuleDeliveryStore contract (${backend})`, () => {
    it("queues a batch's matches and moves the cursor in one step, never back, kept across a reopen", () =>
      withStore(async (store, place) => {
        assert.equal(await store.cursor("journal"), 0);
        await store.enqueue([pending(3), pending(5, { targetId: "2" })], 10, "journal");
        await store.enqueue([], 7, "journal");
        const reopened = await place.open();
        assert.equal(await reopened.cursor("journal"), 10);
        assert.equal(await reopened.queuedCount(), 2);
        assert.equal(await reopened.oldestQueuedSeq(), 3);
      }));

    it("keeps a cursor per origin; a Sigma match's delivery keeps its event and does not hold the journal back", () =>
      withStore(async (store, place) => {
        const sigma = pending(2, { origin: "sigma", event: '{"detail-type":"Sigma Rule Match"}' });
        await store.enqueue([pending(2)], 4, "journal");
        await store.enqueue([sigma], 7, "sigma");
        await assert.rejects(store.enqueue([sigma], 8, "journal"), /sigma delivery was queued with the journal cursor/);
        const reopened = await place.open();
        assert.equal(await reopened.cursor("journal"), 4);
        assert.equal(await reopened.cursor("sigma"), 7);
        assert.equal(await reopened.queuedCount(), 2, "the same rule, target and position under two origins");
        assert.deepEqual(await reopened.due(T0, 10), [pending(2), sigma]);
        await reopened.remove([pending(2)]);
        assert.equal(await reopened.oldestQueuedSeq(), undefined, "a Sigma delivery names no journal record");
        assert.equal(
          await reopened.retryLater(sigma, { attemptsMade: 1, attemptedAtMs: T0, error: "HTTP 500" }, T0),
          true,
        );
        assert.equal(await reopened.giveUp(sigma, failure(2, { sigmaMatchId: 2 })), true);
        assert.equal(await reopened.queuedCount(), 0);
      }));

    it("queues a delivery once: a batch matched again after a crash changes nothing", () =>
      withStore(async (store) => {
        await store.enqueue([pending(3)], 3, "journal");
        await store.retryLater(
          pending(3),
          { attemptsMade: 1, attemptedAtMs: T0, error: "HTTP 503", httpStatus: 503 },
          T0 + 1000,
        );
        await store.enqueue([pending(3)], 3, "journal");
        const [queued] = await store.due(T0 + 1000, 10);
        assert.equal(queued?.attemptsMade, 1);
        assert.equal(queued?.lastError, "HTTP 503");
        assert.equal(queued?.lastHttpStatus, 503);
        assert.equal(await store.queuedCount(), 1);
      }));

    it("hands out what is due, earliest first, and says when the next one is", () =>
      withStore(async (store) => {
        await store.enqueue(
          [
            pending(1, { nextAttemptAtMs: T0 + 500 }),
            pending(2, { nextAttemptAtMs: T0 + 100 }),
            pending(3, { nextAttemptAtMs: T0 + 900 }),
          ],
          3,
          "journal",
        );
        assert.deepEqual(
          (await store.due(T0 + 600, 10)).map((delivery) => delivery.seq),
          [2, 1],
        );
        assert.deepEqual(
          (await store.due(T0 + 600, 1)).map((delivery) => delivery.seq),
          [2],
        );
        assert.equal(await store.nextDueAtMs(), T0 + 100);
        await store.remove([pending(2), pending(1), pending(99)]);
        assert.equal(await store.nextDueAtMs(), T0 + 900);
        await store.remove([pending(3)]);
        assert.equal(await store.nextDueAtMs(), undefined);
        assert.equal(await store.oldestQueuedSeq(), undefined);
      }));

    it("records a retry on a queued delivery only", () =>
      withStore(async (store) => {
        await store.enqueue([pending(4)], 4, "journal");
        const attempt = { attemptsMade: 2, attemptedAtMs: T0 + 50, error: "timed out after 5000 ms" };
        assert.equal(await store.retryLater(pending(4), attempt, T0 + 4000), true);
        assert.equal(await store.retryLater(pending(5), attempt, T0 + 4000), false);
        assert.deepEqual(await store.due(T0 + 3999, 10), []);
        const [queued] = await store.due(T0 + 4000, 10);
        assert.equal(queued?.attemptsMade, 2);
        assert.equal(queued?.lastAttemptAtMs, T0 + 50);
        assert.equal(queued?.lastHttpStatus, undefined);
      }));

    it("gives up in one step: the delivery leaves the queue and its failure is kept, listable per account and rule", () =>
      withStore(async (store, place) => {
        await store.enqueue([pending(1), pending(2, { ruleArn: OTHER_RULE }), pending(3)], 3, "journal");
        assert.equal(await store.giveUp(pending(1), failure(1)), true);
        assert.equal(await store.giveUp(pending(1), failure(1)), false, "not queued any more: nothing kept twice");
        assert.equal(
          await store.giveUp(pending(2, { ruleArn: OTHER_RULE }), failure(2, { ruleArn: OTHER_RULE })),
          true,
        );
        assert.equal(await store.giveUp(pending(3), failure(3)), true);
        assert.equal(await store.queuedCount(), 0);

        const reopened = await place.open();
        const all = await reopened.listFailures("111111111111", { limit: 10 });
        assert.deepEqual(
          all.map((kept) => kept.journalSeq),
          [1, 2, 3],
        );
        const { id, ...record } = all[0]!;
        assert.ok(id > 0);
        assert.deepEqual(record, failure(1));
        const ofRule = await reopened.listFailures("111111111111", { ruleArn: RULE, limit: 1 });
        assert.deepEqual(
          ofRule.map((kept) => kept.journalSeq),
          [1],
        );
        const next = await reopened.listFailures("111111111111", { ruleArn: RULE, afterId: ofRule[0]!.id, limit: 5 });
        assert.deepEqual(
          next.map((kept) => kept.journalSeq),
          [3],
        );
        assert.deepEqual(await reopened.listFailures("222222222222", { limit: 10 }), [], "another account sees none");
      }));

    it("trims failures kept before a time", () =>
      withStore(async (store) => {
        await store.enqueue([pending(1), pending(2)], 2, "journal");
        await store.giveUp(pending(1), failure(1, { failedTime: new Date(T0).toISOString() }));
        await store.giveUp(pending(2), failure(2, { failedTime: new Date(T0 + 60_000).toISOString() }));
        assert.equal(await store.trimFailures(T0 + 1), 1);
        assert.deepEqual(
          (await store.listFailures("111111111111", { limit: 10 })).map((kept) => kept.journalSeq),
          [2],
        );
      }));

    it("rejects every call once closed", () =>
      withStore(async (store) => {
        await store.close();
        await store.close();
        await assert.rejects(store.cursor("journal"), /closed/);
        await assert.rejects(store.enqueue([], 1, "journal"), /closed/);
      }));
  });
}
