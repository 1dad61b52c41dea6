import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  QUARANTINE_ERROR_CHARS_MAX,
  QUARANTINE_PAGE_MAX,
  type QuarantinedRecord,
  type QuarantineStore,
} from "../../src/stores/quarantine/quarantine.js";

/**
 * The QuarantineStore contract (src/stores/quarantine/quarantine.ts), run against every backend.
 * The factory is called once per test and must return an empty store.
 */
export interface QuarantineStoreUnderTest {
  readonly store: QuarantineStore;
  /** Another instance on the same data (after a restart); the test closes it. */
  reopen(): Promise<QuarantineStore>;
  /** Closes `store` (it may be closed already) and removes the data. */
  cleanup(): Promise<void>;
}

const ACCOUNT = "123456789012";
const OTHER_ACCOUNT = "111122223333";

function quarantined(seq: number, consumer = "lake-writer", extra: Partial<QuarantinedRecord> = {}): QuarantinedRecord {
  return {
    consumer,
    seq,
    eventId: `event-${seq}`,
    accountId: ACCOUNT,
    error: `store refused record ${seq}`,
    quarantinedAtMs: 1_700_000_000_000 + seq,
    ...extra,
  };
}

export function quarantineStoreContractSuite(name: string, open: () => Promise<QuarantineStoreUnderTest>): void {
  async function withStore(body: (subject: QuarantineStoreUnderTest) => Promise<void>): Promise<void> {
    const subject = await open();
    try {
      await body(subject);
    } finally {
      await subject.cleanup();
    }
  }

  describe(`QuarantineStore contract: ${name}`, () => {
    it("starts empty", () =>
      withStore(async ({ store }) => {
        assert.equal(await store.count(), 0);
        assert.deepEqual(await store.list({ maxResults: 10 }), { records: [] });
      }));

    it("keeps what it was given, in journal order, across a reopen", () =>
      withStore(async ({ store, reopen }) => {
        const { eventId: _eventId, accountId: _accountId, ...unreadable } = quarantined(3, "event-history");
        await store.add(quarantined(7));
        await store.add(unreadable);
        await store.add(quarantined(7, "event-history"));
        await store.close();
        const again = await reopen();
        try {
          assert.equal(await again.count(), 3);
          assert.deepEqual((await again.list({ maxResults: 10 })).records, [
            unreadable,
            quarantined(7, "event-history"),
            quarantined(7),
          ]);
        } finally {
          await again.close();
        }
      }));

    it("keeps the first entry when a consumer quarantines the same seq again", () =>
      withStore(async ({ store }) => {
        await store.add(quarantined(5));
        await store.add(quarantined(5, "lake-writer", { error: "again", quarantinedAtMs: 9 }));
        assert.equal(await store.count(), 1);
        assert.deepEqual((await store.list({ maxResults: 10 })).records, [quarantined(5)]);
      }));

    it("removes one consumer's entry and leaves the others", () =>
      withStore(async ({ store }) => {
        await store.add(quarantined(5));
        await store.add(quarantined(5, "event-history"));
        await store.remove("lake-writer", 5);
        await store.remove("lake-writer", 99);
        assert.deepEqual((await store.list({ maxResults: 10 })).records, [quarantined(5, "event-history")]);
      }));

    it("cuts long error messages", () =>
      withStore(async ({ store }) => {
        await store.add(quarantined(1, "lake-writer", { error: "x".repeat(QUARANTINE_ERROR_CHARS_MAX * 3) }));
        const [record] = (await store.list({ maxResults: 1 })).records;
        assert.equal(record?.error.length, QUARANTINE_ERROR_CHARS_MAX);
      }));

    it("pages in journal order without losing or repeating an entry", () =>
      withStore(async ({ store }) => {
        for (let seq = 1; seq <= 7; seq++) {
          await store.add(quarantined(seq));
          if (seq % 2 === 0) await store.add(quarantined(seq, "event-history"));
        }
        const seen: string[] = [];
        let page = await store.list({ maxResults: 3 });
        for (;;) {
          seen.push(...page.records.map((record) => `${record.seq}/${record.consumer}`));
          if (page.next === undefined) break;
          page = await store.list({ maxResults: 3, after: page.next });
        }
        assert.deepEqual(seen, [
          "1/lake-writer",
          "2/event-history",
          "2/lake-writer",
          "3/lake-writer",
          "4/event-history",
          "4/lake-writer",
          "5/lake-writer",
          "6/event-history",
          "6/lake-writer",
          "7/lake-writer",
        ]);
      }));

    it("filters by account (a record of unknown account belongs to none) and by consumer", () =>
      withStore(async ({ store }) => {
        const { accountId: _accountId, ...unknown } = quarantined(2);
        await store.add(quarantined(1));
        await store.add(unknown);
        await store.add(quarantined(3, "lake-writer", { accountId: OTHER_ACCOUNT }));
        await store.add(quarantined(4, "event-history"));
        const seqs = async (options: Parameters<QuarantineStore["list"]>[0]) =>
          (await store.list(options)).records.map((record) => record.seq);
        assert.deepEqual(await seqs({ maxResults: 10, accountId: ACCOUNT }), [1, 4]);
        assert.deepEqual(await seqs({ maxResults: 10, accountId: OTHER_ACCOUNT }), [3]);
        assert.deepEqual(await seqs({ maxResults: 10, consumer: "event-history" }), [4]);
        assert.deepEqual(await seqs({ maxResults: 10 }), [1, 2, 3, 4]);
        assert.deepEqual(await seqs({ maxResults: 10, accountId: OTHER_ACCOUNT, consumer: "event-history" }), []);
      }));

    it("dismisses what matches every filter given, durably, and says how many", () =>
      withStore(async ({ store, reopen }) => {
        const { accountId: _accountId, ...unknown } = quarantined(2);
        await store.add(quarantined(1));
        await store.add(quarantined(1, "event-history"));
        await store.add(unknown);
        await store.add(quarantined(3, "lake-writer", { accountId: OTHER_ACCOUNT }));
        await store.add(quarantined(4, "event-history"));
        await store.add(quarantined(5));
        const left = async (on: QuarantineStore = store) =>
          (await on.list({ maxResults: 10 })).records.map((record) => `${record.seq}/${record.consumer}`);
        assert.equal(await store.dismiss({ accountId: ACCOUNT, seq: 99 }), 0);
        assert.equal(await store.dismiss({ accountId: OTHER_ACCOUNT, seq: 1 }), 0, "not another account's");
        assert.equal(await store.dismiss({ accountId: ACCOUNT, seq: 1, consumer: "lake-writer" }), 1);
        assert.deepEqual(await left(), [
          "1/event-history",
          "2/lake-writer",
          "3/lake-writer",
          "4/event-history",
          "5/lake-writer",
        ]);
        assert.equal(await store.dismiss({ accountId: ACCOUNT, consumer: "event-history" }), 2);
        assert.equal(await store.dismiss({ accountId: ACCOUNT }), 1, "a record of unknown account belongs to none");
        assert.deepEqual(await left(), ["2/lake-writer", "3/lake-writer"]);
        assert.equal(await store.dismiss({ seq: 3 }), 1);
        await store.close();
        const again = await reopen();
        try {
          assert.deepEqual(await left(again), ["2/lake-writer"]);
          assert.equal(await again.count(), 1);
          assert.equal(await again.dismiss({}), 1);
          assert.equal(await again.count(), 0);
        } finally {
          await again.close();
        }
      }));

    it("refuses a page size outside 1–QUARANTINE_PAGE_MAX", () =>
      withStore(async ({ store }) => {
        for (const maxResults of [0, -1, 1.5, QUARANTINE_PAGE_MAX + 1])
          await assert.rejects(store.list({ maxResults }), RangeError);
      }));
  });
}
