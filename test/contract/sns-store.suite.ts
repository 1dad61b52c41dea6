import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NewSubscription, SnsStore, SnsTopic } from "../../src/stores/sns/index.js";

/**
 * The SnsStore contract (src/stores/sns/sns-store.ts), run against every implementation. The factory
 * is called once per test and returns an empty place; `open()` opens a new store over it each time,
 * as another process (or node, or a restart) would.
 */
export interface SnsStoreUnderTest {
  open(): SnsStore | Promise<SnsStore>;
  /** Closes what `open` returned and removes the data. */
  cleanup(): Promise<void>;
}

const ALICE = { accountId: "111111111111", region: "us-east-1" };
const BOB = { accountId: "222222222222", region: "us-east-1" };
const DAY_MS = 86_400_000;

function topic(scope: typeof ALICE, name: string, extra: Partial<SnsTopic> = {}): SnsTopic {
  return {
    ...scope,
    arn: `arn:aws:sns:${scope.region}:${scope.accountId}:${name}`,
    name,
    displayName: "",
    createdAtMs: 1_700_000_000_000,
    ...extra,
  };
}

function subscription(topicArn: string, endpoint: string, tokenHash: string): NewSubscription {
  return {
    arn: `${topicArn}:${endpoint.length}-${tokenHash.slice(0, 8)}`,
    topicArn,
    accountId: topicArn.split(":")[4]!,
    protocol: "http",
    endpoint,
    createdAtMs: 1_700_000_000_000,
    tokenHash,
    tokenExpiresMs: 1_700_000_000_000 + 3 * DAY_MS,
  };
}

export function snsStoreContractSuite(name: string, create: () => Promise<SnsStoreUnderTest>): void {
  async function withStore(body: (store: SnsStore, place: SnsStoreUnderTest) => Promise<void>): Promise<void> {
    const place = await create();
    try {
      await body(await place.open(), place);
    } finally {
      await place.cleanup();
    }
  }

  describe(`SnsStore contract: ${name}`, () => {
    it("creates a topic once and hands back the stored one on a second creation", () =>
      withStore(async (store, place) => {
        const first = await store.createTopic(topic(ALICE, "alerts", { displayName: "First" }));
        assert.equal(first.created, true);
        const again = await store.createTopic(topic(ALICE, "alerts", { displayName: "Second" }));
        assert.equal(again.created, false);
        assert.equal(again.topic.displayName, "First");
        const reopened = await place.open();
        assert.deepEqual(await reopened.getTopic(first.topic.arn), first.topic);
        assert.equal(await reopened.getTopic(topic(BOB, "alerts").arn), undefined);
      }));

    it("lists an account's topics in one region, in ARN order, page by page", () =>
      withStore(async (store) => {
        for (const n of ["b", "a", "c", "a-b"]) await store.createTopic(topic(ALICE, n));
        await store.createTopic(topic(BOB, "z"));
        await store.createTopic(topic({ ...ALICE, region: "eu-west-1" }, "y"));
        const page1 = await store.listTopics(ALICE, undefined, 2);
        assert.deepEqual(
          page1.map((t) => t.name),
          ["a", "a-b"],
        );
        const page2 = await store.listTopics(ALICE, page1[1]!.arn, 2);
        assert.deepEqual(
          page2.map((t) => t.name),
          ["b", "c"],
        );
        assert.deepEqual(await store.listTopics(ALICE, page2[1]!.arn, 2), []);
        assert.equal(await store.countTopics(ALICE), 4);
        assert.equal(await store.countTopics(BOB), 1);
      }));

    it("changes a topic's display name and policy, and goes back to the default policy", () =>
      withStore(async (store) => {
        const { topic: t } = await store.createTopic(topic(ALICE, "alerts"));
        assert.equal(t.policy, undefined);
        assert.equal(await store.updateTopic(t.arn, { displayName: "Alerts" }), true);
        assert.equal(await store.updateTopic(t.arn, { policy: '{"Version":"2012-10-17"}' }), true);
        let stored = await store.getTopic(t.arn);
        assert.equal(stored?.displayName, "Alerts");
        assert.equal(stored?.policy, '{"Version":"2012-10-17"}');
        await store.updateTopic(t.arn, { policy: null });
        stored = await store.getTopic(t.arn);
        assert.equal(stored?.policy, undefined);
        assert.equal(stored?.displayName, "Alerts");
        assert.equal(await store.updateTopic(topic(ALICE, "missing").arn, { displayName: "x" }), false);
      }));

    it("keeps a pending subscription until its token confirms it, and only that token", () =>
      withStore(async (store, place) => {
        const { topic: t } = await store.createTopic(topic(ALICE, "alerts"));
        const added = await store.subscribe(subscription(t.arn, "http://127.0.0.1:9/hook", "a".repeat(64)));
        assert.equal(added?.status, "pending");
        assert.deepEqual(await store.countSubscriptions(t.arn), { confirmed: 0, pending: 1 });
        assert.equal(await store.confirm(t.arn, "b".repeat(64), 1_700_000_000_000), undefined);
        assert.equal(await store.confirm(topic(ALICE, "other").arn, "a".repeat(64), 1_700_000_000_000), undefined);
        const confirmed = await (await place.open()).confirm(t.arn, "a".repeat(64), 1_700_000_000_001);
        assert.equal(confirmed?.status, "confirmed");
        assert.equal(confirmed?.arn, added?.arn);
        assert.deepEqual(await store.getSubscription(added!.arn), confirmed);
        assert.deepEqual(await store.countSubscriptions(t.arn), { confirmed: 1, pending: 0 });
      }));

    it("refuses an expired token", () =>
      withStore(async (store) => {
        const { topic: t } = await store.createTopic(topic(ALICE, "alerts"));
        const s = subscription(t.arn, "http://127.0.0.1:9/hook", "c".repeat(64));
        await store.subscribe(s);
        assert.equal(await store.confirm(t.arn, s.tokenHash, s.tokenExpiresMs), undefined);
        assert.equal((await store.getSubscription(s.arn))?.status, "pending");
      }));

    it("gives a pending subscription to the same endpoint the new token; a confirmed one stays", () =>
      withStore(async (store) => {
        const { topic: t } = await store.createTopic(topic(ALICE, "alerts"));
        const first = await store.subscribe(subscription(t.arn, "http://127.0.0.1:9/hook", "d".repeat(64)));
        const again = await store.subscribe(subscription(t.arn, "http://127.0.0.1:9/hook", "e".repeat(64)));
        assert.equal(again?.arn, first?.arn, "one subscription per endpoint");
        assert.equal(await store.confirm(t.arn, "d".repeat(64), 0), undefined, "the old token no longer confirms");
        assert.equal((await store.confirm(t.arn, "e".repeat(64), 0))?.status, "confirmed");
        const third = await store.subscribe(subscription(t.arn, "http://127.0.0.1:9/hook", "f".repeat(64)));
        assert.equal(third?.status, "confirmed");
        assert.equal(await store.confirm(t.arn, "f".repeat(64), 0), undefined, "a confirmed one keeps its token");
      }));

    it("refuses a subscription to a topic that does not exist", () =>
      withStore(async (store) => {
        const s = subscription(topic(ALICE, "missing").arn, "http://127.0.0.1:9/hook", "a".repeat(64));
        assert.equal(await store.subscribe(s), undefined);
        assert.equal(await store.getSubscription(s.arn), undefined);
      }));

    it("lists a topic's subscriptions in pages and unsubscribes once", () =>
      withStore(async (store) => {
        const { topic: t } = await store.createTopic(topic(ALICE, "alerts"));
        const { topic: other } = await store.createTopic(topic(ALICE, "other"));
        const arns: string[] = [];
        for (let i = 0; i < 5; i++) {
          const s = await store.subscribe(subscription(t.arn, `http://127.0.0.1:9/${i}`, `${i}`.repeat(64)));
          arns.push(s!.arn);
        }
        await store.subscribe(subscription(other.arn, "http://127.0.0.1:9/x", "9".repeat(64)));
        const page1 = await store.listSubscriptions(t.arn, undefined, 3);
        const page2 = await store.listSubscriptions(t.arn, page1.at(-1)!.arn, 3);
        assert.deepEqual(
          [...page1, ...page2].map((s) => s.arn),
          [...arns].sort(),
        );
        assert.equal(await store.unsubscribe(arns[0]!), true);
        assert.equal(await store.unsubscribe(arns[0]!), false);
        assert.equal((await store.listSubscriptions(t.arn, undefined, 100)).length, 4);
      }));

    it("deletes a topic with its subscriptions", () =>
      withStore(async (store) => {
        const { topic: t } = await store.createTopic(topic(ALICE, "alerts"));
        const s = await store.subscribe(subscription(t.arn, "http://127.0.0.1:9/hook", "a".repeat(64)));
        assert.equal(await store.deleteTopic(t.arn), true);
        assert.equal(await store.deleteTopic(t.arn), false);
        assert.equal(await store.getTopic(t.arn), undefined);
        assert.equal(await store.getSubscription(s!.arn), undefined);
        const { created } = await store.createTopic(topic(ALICE, "alerts"));
        assert.equal(created, true);
        assert.deepEqual(await store.listSubscriptions(t.arn, undefined, 100), []);
      }));

    it("rejects every call once closed", () =>
      withStore(async (store) => {
        await store.close();
        await assert.rejects(store.getTopic(topic(ALICE, "alerts").arn), /closed/);
        await store.close();
      }));
  });
}
