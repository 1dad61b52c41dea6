import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { REFUSED_REQUESTS_EVENT_NAME } from "../../src/capture/self-audit/refused-requests-record.js";
import { UnauthenticatedRefusals } from "../../src/http/unauthenticated-refusals.js";
import { JournalUnavailableError, type JournalAppendItem, type JournalAppendResult } from "../../src/journal/index.js";
import { MemoryJournal } from "../helpers/memory-journal.js";

const MINUTE_MS = 60_000;
/** 2026-12-06T10:00:00Z, a window boundary. */
const START_MS = Date.UTC(2026, 11, 6, 10, 0, 0);

interface Written {
  eventName: string;
  eventTime: string;
  sourceIPAddress: string;
  errorCode: string;
  userIdentity: { type: string };
  additionalEventData: {
    refusedRequestCount: number;
    windowStart: string;
    windowEnd: string;
    otherSourceIPAddresses?: boolean;
  };
}

/** A journal that refuses to write while `failing`, as the file journal does on a full disk. */
class FailingJournal extends MemoryJournal {
  failing = false;
  override async append(items: readonly JournalAppendItem[]): Promise<JournalAppendResult> {
    if (this.failing) throw new JournalUnavailableError("The disk is full.");
    return super.append(items);
  }
}

function setUp(sourcesPerWindowMax?: number) {
  const clock = { ms: START_MS, nowMs: () => clock.ms };
  const journal = new FailingJournal();
  const errors: unknown[] = [];
  const refusals = new UnauthenticatedRefusals({
    journal,
    audit: { accountId: "111122223333", region: "eu-west-1", nowMs: clock.nowMs, newEventId: randomUUID },
    clock,
    onInternalError: (error) => errors.push(error),
    ...(sourcesPerWindowMax !== undefined ? { sourcesPerWindowMax } : {}),
  });
  const written = async (): Promise<Written[]> =>
    (await journal.read(1, 1000)).map((entry) => JSON.parse(entry.json) as Written);
  return { clock, journal, refusals, errors, written };
}

describe("UnauthenticatedRefusals: one record per (source, code, minute) with the count", () => {
  it("writes nothing until the window ends, then one record per pair carrying its count", async () => {
    const { clock, refusals, written } = setUp();
    clock.ms += 5_000;
    for (let i = 0; i < 700; i++) refusals.note("203.0.113.7", "MissingAuthenticationTokenException");
    for (let i = 0; i < 300; i++) refusals.note("203.0.113.7", "UnrecognizedClientException");
    clock.ms += 20_000;
    refusals.note("198.51.100.2", "MissingAuthenticationTokenException");
    await refusals.flush(false);
    assert.deepEqual(await written(), [], "the window has not ended");

    clock.ms = START_MS + MINUTE_MS;
    await refusals.flush(false);
    const records = await written();
    assert.deepEqual(
      records.map((r) => [r.sourceIPAddress, r.errorCode, r.additionalEventData.refusedRequestCount]),
      [
        ["203.0.113.7", "MissingAuthenticationTokenException", 700],
        ["203.0.113.7", "UnrecognizedClientException", 300],
        ["198.51.100.2", "MissingAuthenticationTokenException", 1],
      ],
    );
    for (const record of records) {
      assert.equal(record.eventName, REFUSED_REQUESTS_EVENT_NAME);
      assert.equal(record.userIdentity.type, "Unknown");
      assert.equal(record.additionalEventData.windowStart, "2026-12-06T10:00:00Z");
      assert.equal(record.additionalEventData.windowEnd, "2026-12-06T10:01:00Z");
      assert.ok(record.eventTime >= record.additionalEventData.windowStart);
      assert.ok(record.eventTime < record.additionalEventData.windowEnd, "eventTime is the last refusal, inside");
    }
    await refusals.flush(false);
    assert.equal((await written()).length, 3, "a written window is not written again");
  });

  it("names at most the cap of pairs per window; the rest are counted under 'other'", async () => {
    const { clock, refusals, written } = setUp(2);
    for (let i = 1; i <= 5; i++) refusals.note(`192.0.2.${i}`, "MissingAuthenticationTokenException");
    refusals.note("192.0.2.1", "MissingAuthenticationTokenException");
    refusals.note("192.0.2.9", "IncompleteSignatureException");
    clock.ms = START_MS + MINUTE_MS;
    await refusals.close();
    const counts = (await written()).map((r) => [
      r.sourceIPAddress,
      r.errorCode,
      r.additionalEventData.refusedRequestCount,
      r.additionalEventData.otherSourceIPAddresses ?? false,
    ]);
    assert.deepEqual(counts, [
      ["192.0.2.1", "MissingAuthenticationTokenException", 2, false],
      ["192.0.2.2", "MissingAuthenticationTokenException", 1, false],
      ["other", "MissingAuthenticationTokenException", 3, true],
      ["other", "IncompleteSignatureException", 1, true],
    ]);
  });

  it("close writes the current window up to now, and each window separately", async () => {
    const { clock, refusals, written } = setUp();
    refusals.note("203.0.113.7", "MissingAuthenticationTokenException");
    clock.ms = START_MS + MINUTE_MS + 10_000;
    refusals.note("203.0.113.7", "MissingAuthenticationTokenException");
    refusals.note("203.0.113.7", "MissingAuthenticationTokenException");
    clock.ms += 5_000;
    await refusals.close();
    const windows = (await written()).map((r) => [
      r.additionalEventData.windowStart,
      r.additionalEventData.windowEnd,
      r.additionalEventData.refusedRequestCount,
    ]);
    assert.deepEqual(windows, [
      ["2026-12-06T10:00:00Z", "2026-12-06T10:01:00Z", 1],
      ["2026-12-06T10:01:00Z", "2026-12-06T10:01:15Z", 2],
    ]);
  });

  it("keeps the counts while the journal cannot write, and writes them once it can", async () => {
    const { clock, journal, refusals, errors, written } = setUp();
    refusals.note("203.0.113.7", "MissingAuthenticationTokenException");
    journal.failing = true;
    clock.ms = START_MS + MINUTE_MS;
    await refusals.flush(false);
    assert.deepEqual(await written(), []);
    assert.deepEqual(errors, [], "a full disk is an operating condition, not an internal error");
    journal.failing = false;
    await refusals.flush(false);
    assert.equal((await written())[0]?.additionalEventData.refusedRequestCount, 1);
  });

  it("drops the oldest window, and says so, when the journal stays unwritable for more than ten", async () => {
    const { clock, journal, refusals, errors, written } = setUp();
    journal.failing = true;
    for (let minute = 0; minute < 12; minute++) {
      clock.ms = START_MS + minute * MINUTE_MS;
      refusals.note("203.0.113.7", "MissingAuthenticationTokenException");
      await refusals.flush(false);
    }
    assert.equal(errors.length, 2, "the two oldest windows were dropped, each reported");
    assert.match(String(errors[0]), /Dropped the count of 1 unauthenticated/);
    journal.failing = false;
    await refusals.close();
    const kept = (await written()).map((r) => r.additionalEventData.windowStart);
    assert.equal(kept.length, 10, "the ten newest windows, the current one included");
    assert.equal(kept[0], "2026-12-06T10:02:00Z");
  });
});
