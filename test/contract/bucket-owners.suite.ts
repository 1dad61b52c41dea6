import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BucketOwnerStore } from "../../src/stores/bucket-owners/index.js";

/**
 * The BucketOwnerStore contract (src/stores/bucket-owners/bucket-owner-store.ts), run against every
 * implementation. The factory is called once per test and returns a place where nothing was claimed
 * yet; `open()` opens a new store over it each time, as another process (or a restart) would.
 */
export interface BucketOwnerStoreUnderTest {
  open(): BucketOwnerStore | Promise<BucketOwnerStore>;
  /** Closes what `open` returned and removes the data. */
  cleanup(): Promise<void>;
}

const ALICE = "111111111111";
const BOB = "222222222222";

export function bucketOwnerStoreContractSuite(name: string, create: () => Promise<BucketOwnerStoreUnderTest>): void {
  async function withPlace(body: (place: BucketOwnerStoreUnderTest) => Promise<void>): Promise<void> {
    const place = await create();
    try {
      await body(place);
    } finally {
      await place.cleanup();
    }
  }

  describe(`BucketOwnerStore contract: ${name}`, () => {
    it("knows no owner before a claim", () =>
      withPlace(async (place) => {
        const store = await place.open();
        assert.equal(await store.ownerOf("trail-bucket"), undefined);
        assert.deepEqual(await store.list(ALICE), []);
      }));

    it("gives a bucket to the first account that claims it, and keeps it there", () =>
      withPlace(async (place) => {
        const store = await place.open();
        assert.equal(await store.claim("trail-bucket", ALICE), ALICE);
        assert.equal(await store.claim("trail-bucket", ALICE), ALICE, "claiming again is harmless");
        assert.equal(await store.claim("trail-bucket", BOB), ALICE, "a later claim names the owner");
        assert.equal(await store.ownerOf("trail-bucket"), ALICE);
        assert.deepEqual(await store.list(BOB), []);
      }));

    it("lists each account's buckets in byte order", () =>
      withPlace(async (place) => {
        const store = await place.open();
        for (const bucket of ["zeta-logs", "alpha-logs", "m.logs", "m-logs"]) await store.claim(bucket, ALICE);
        await store.claim("bob-logs", BOB);
        assert.deepEqual(await store.list(ALICE), ["alpha-logs", "m-logs", "m.logs", "zeta-logs"]);
        assert.deepEqual(await store.list(BOB), ["bob-logs"]);
      }));

    it("lets exactly one of many simultaneous claims win", () =>
      withPlace(async (place) => {
        const stores = await Promise.all([place.open(), place.open(), place.open()]);
        const accounts = Array.from({ length: 12 }, (_, i) => String(100000000000 + i));
        const answers = await Promise.all(
          accounts.map((account, i) => stores[i % stores.length]!.claim("contested", account)),
        );
        const winner = answers[0]!;
        assert.ok(accounts.includes(winner));
        assert.deepEqual(new Set(answers), new Set([winner]), "every claim names the same owner");
        for (const store of stores) assert.equal(await store.ownerOf("contested"), winner);
        const listing = await Promise.all(accounts.map((account) => stores[0]!.list(account)));
        assert.equal(listing.flat().length, 1, "the bucket is listed once, under its owner");
      }));

    it("keeps owners across a reopen", () =>
      withPlace(async (place) => {
        const first = await place.open();
        await first.claim("kept-bucket", BOB);
        await first.close();
        const second = await place.open();
        assert.equal(await second.ownerOf("kept-bucket"), BOB);
        assert.equal(await second.claim("kept-bucket", ALICE), BOB);
        assert.deepEqual(await second.list(BOB), ["kept-bucket"]);
      }));

    it("refuses what is no bucket name or no account id, and stores nothing for it", () =>
      withPlace(async (place) => {
        const store = await place.open();
        for (const bucket of ["", "UPPER", "../escape", "a", "x".repeat(64)])
          await assert.rejects(store.claim(bucket, ALICE), JSON.stringify(bucket));
        for (const account of ["", "12345", "abcdefghijkl", "1234567890123"])
          await assert.rejects(store.claim("fine-bucket", account), JSON.stringify(account));
        assert.equal(await store.ownerOf("fine-bucket"), undefined);
        assert.deepEqual(await store.list(ALICE), []);
      }));

    it("rejects every call once closed", () =>
      withPlace(async (place) => {
        const store = await place.open();
        await store.close();
        await store.close();
        await assert.rejects(store.ownerOf("trail-bucket"));
        await assert.rejects(store.claim("trail-bucket", ALICE));
        await assert.rejects(store.list(ALICE));
      }));
  });
}
