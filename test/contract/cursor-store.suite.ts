import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CursorStore } from "../../src/stores/cursors/index.js";

/**
 * The CursorStore contract (src/stores/cursors/cursor-store.ts), run against every implementation.
 * The factory is called once per test and returns a place where nothing was saved yet; `open()`
 * opens a new store over it each time, as a restarted process would.
 */
export interface CursorStoreUnderTest {
  open(): CursorStore;
  cleanup(): Promise<void>;
}

export function cursorStoreContractSuite(name: string, create: () => Promise<CursorStoreUnderTest>): void {
  async function withPlace(body: (place: CursorStoreUnderTest) => Promise<void>): Promise<void> {
    const place = await create();
    try {
      await body(place);
    } finally {
      await place.cleanup();
    }
  }

  describe(`CursorStore contract: ${name}`, () => {
    it("loads 0 when nothing was saved", () =>
      withPlace(async (place) => {
        const store = place.open();
        assert.equal(await store.load(), 0);
        assert.equal(await store.load(), 0);
      }));

    it("loads what was saved last", () =>
      withPlace(async (place) => {
        const store = place.open();
        await store.save(41);
        assert.equal(await store.load(), 41);
        await store.save(42);
        assert.equal(await store.load(), 42);
        await store.save(0);
        assert.equal(await store.load(), 0);
        await store.save(Number.MAX_SAFE_INTEGER);
        assert.equal(await store.load(), Number.MAX_SAFE_INTEGER);
      }));

    it("keeps the cursor across a reopen", () =>
      withPlace(async (place) => {
        await place.open().save(1_234_567);
        assert.equal(await place.open().load(), 1_234_567);
        await place.open().save(1_234_568);
        assert.equal(await place.open().load(), 1_234_568);
      }));

    it("rejects seqs that are not safe integers ≥ 0 and keeps the saved cursor", () =>
      withPlace(async (place) => {
        const store = place.open();
        await store.save(7);
        for (const invalid of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
          await assert.rejects(store.save(invalid), RangeError, String(invalid));
        }
        assert.equal(await store.load(), 7);
        assert.equal(await place.open().load(), 7);
      }));

    it("ends with the last of several saves in a row", () =>
      withPlace(async (place) => {
        const store = place.open();
        for (let seq = 1; seq <= 20; seq++) await store.save(seq * 100);
        assert.equal(await place.open().load(), 2000);
      }));
  });
}
