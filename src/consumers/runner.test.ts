import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JournalEntry } from "../journal/journal.js";
import { MemoryJournal } from "../../test/helpers/memory-journal.js";
import type { Consumer } from "./consumer.js";
import { ConsumerRunner, type ConsumerJournal } from "./runner.js";

/** Records batches; fails the first `failures` calls; signals when it has seen `until`. */
class RecordingConsumer implements Consumer {
  readonly name = "recording";
  readonly batches: number[][] = [];
  cursor: number;
  private reached: (() => void) | null = null;

  constructor(
    start: number,
    private failures: number,
  ) {
    this.cursor = start;
  }

  async loadCursor(): Promise<number> {
    return this.cursor;
  }

  async handle(batch: readonly JournalEntry[]): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error("Injected failure.");
    }
    this.batches.push(batch.map((entry) => entry.seq));
    this.cursor = batch.at(-1)!.seq;
    this.reached?.();
  }

  waitForCursor(seq: number): Promise<void> {
    if (this.cursor >= seq) return Promise.resolve();
    return new Promise((resolve) => {
      this.reached = () => {
        if (this.cursor >= seq) resolve();
      };
    });
  }
}

function journalWith(count: number): Promise<MemoryJournal> {
  const journal = new MemoryJournal(() => 0);
  const items = Array.from({ length: count }, (_, i) => ({ json: `{"n":${i}}` }));
  return journal.append(items).then(() => journal);
}

describe("ConsumerRunner", () => {
  it("feeds batches from the consumer's cursor + 1, in order, bounded in size", async () => {
    const journal = await journalWith(25);
    const consumer = new RecordingConsumer(5, 0);
    const runner = new ConsumerRunner(journal, consumer, { batchEntriesMax: 10 });
    await runner.start();
    await consumer.waitForCursor(25);
    assert.deepEqual(
      consumer.batches.map((batch) => [batch[0], batch.at(-1)]),
      [
        [6, 15],
        [16, 25],
      ],
    );
    await journal.append([{ json: "{}" }]);
    await consumer.waitForCursor(26);
    // stop() resolves after the in-flight batch, so the runner's view is settled from here on.
    await runner.stop();
    assert.equal(runner.cursorSeq(), 26);
    assert.equal(runner.cursorLagRecords(), 0);
  });

  it("retries a failing batch with the same entries and clears the error after success", async () => {
    const journal = await journalWith(3);
    const consumer = new RecordingConsumer(0, 2);
    const runner = new ConsumerRunner(journal, consumer, { retryDelayMsInitial: 1, retryDelayMsMax: 2 });
    await runner.start();
    await consumer.waitForCursor(3);
    await runner.stop();
    assert.deepEqual(consumer.batches, [[1, 2, 3]]);
    assert.equal(runner.lastError, undefined);
    assert.equal(runner.failuresInRow, 0);
  });

  it("once caught up, takes the appends that follow the waking one in the same batch", async () => {
    const journal = await journalWith(2);
    let waiting: () => void = () => undefined;
    const runnerWaits = new Promise<void>((resolve) => (waiting = resolve));
    const watched: ConsumerJournal = {
      read: (fromSeq, max) => journal.read(fromSeq, max),
      headSeq: () => journal.headSeq(),
      waitForAppend: (afterSeq, signal) => {
        const woken = journal.waitForAppend(afterSeq, signal);
        if (afterSeq === 2) waiting();
        return woken;
      },
    };
    const consumer = new RecordingConsumer(0, 0);
    // Long, so that only a stall of seconds between the appends below could split them.
    const runner = new ConsumerRunner(watched, consumer, { coalesceMs: 2_000 });
    await runner.start();
    await runnerWaits;
    await journal.append([{ json: `{"call":0}` }]);
    // Without the wait the runner would read and handle [3] alone during these turns of the loop.
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    await Promise.all(Array.from({ length: 4 }, (_, i) => journal.append([{ json: `{"call":${i + 1}}` }])));
    await consumer.waitForCursor(7);
    await runner.stop();
    assert.deepEqual(consumer.batches, [
      [1, 2],
      [3, 4, 5, 6, 7],
    ]);
  });

  it("stops during the coalescing wait without handling what arrived", async () => {
    const journal = await journalWith(0);
    const consumer = new RecordingConsumer(0, 0);
    const runner = new ConsumerRunner(journal, consumer, { coalesceMs: 600_000 });
    await runner.start();
    await journal.append([{ json: "{}" }]);
    await runner.stop();
    assert.deepEqual(consumer.batches, []);
    assert.equal(runner.cursorSeq(), 0);
  });

  it("stops while waiting for appends", async () => {
    const journal = await journalWith(0);
    const runner = new ConsumerRunner(journal, new RecordingConsumer(0, 0));
    await runner.start();
    await runner.stop();
    assert.equal(runner.cursorSeq(), 0);
  });

  it("exposes the last error while failing, and stops while backing off", async () => {
    const journal = await journalWith(1);
    let attempts = 0;
    let secondAttempt: () => void = () => undefined;
    const reachedSecond = new Promise<void>((resolve) => (secondAttempt = resolve));
    const consumer: Consumer = {
      name: "failing",
      loadCursor: async () => 0,
      handle: async () => {
        if (++attempts === 2) secondAttempt();
        throw new Error(`Attempt ${attempts} failed.`);
      },
    };
    const runner = new ConsumerRunner(journal, consumer, { retryDelayMsInitial: 1, retryDelayMsMax: 60_000 });
    await runner.start();
    await reachedSecond;
    await runner.stop();
    assert.equal(runner.cursorSeq(), 0);
    assert.ok(runner.lastError instanceof Error);
    assert.ok(runner.failuresInRow >= 2);
  });
});
