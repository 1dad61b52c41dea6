/**
 * The runner's quarantine (docs/specs/consumer.md, "Quarantine"): a record the consumer's store
 * refuses while the store works is set aside and the consumer goes on; a store that is down
 * quarantines nothing. The store here is a transactional list that refuses records marked `poison`
 * and can be taken down.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Consumer } from "../../src/consumers/consumer.js";
import { quarantineFor } from "../../src/consumers/quarantine.js";
import { ConsumerRunner } from "../../src/consumers/runner.js";
import type { JournalEntry } from "../../src/journal/journal.js";
import { openSqliteQuarantineStore, type QuarantineStore } from "../../src/stores/quarantine/index.js";
import { MemoryJournal } from "../helpers/memory-journal.js";
import { pollUntil } from "../helpers/poll.js";

/** All or nothing per batch, like a SQLite transaction: a refused record fails its whole batch. */
class ListStore implements Consumer {
  readonly name = "list-store";
  readonly written: number[] = [];
  readonly attempts: number[][] = [];
  cursor = 0;
  down: Error | undefined;

  async loadCursor(): Promise<number> {
    return this.cursor;
  }

  async handle(batch: readonly JournalEntry[]): Promise<void> {
    this.attempts.push(batch.map((entry) => entry.seq));
    if (this.down !== undefined) throw this.down;
    const refused = batch.find((entry) => (JSON.parse(entry.json) as { poison?: boolean }).poison === true);
    if (refused !== undefined)
      throw new Error(
        `Conversion Error: record ${refused.seq} does not fit the column in /srv/cairn/lake/tmp/x.ndjson`,
      );
    this.written.push(...batch.map((entry) => entry.seq));
    this.cursor = batch.at(-1)!.seq;
  }

  async probe(): Promise<void> {
    if (this.down !== undefined) throw this.down;
  }
}

/** Appends records from..from+count-1; the seqs in `poison` are refused by the store. */
async function appendRecords(journal: MemoryJournal, from: number, count: number, poison: ReadonlySet<number>) {
  const items = Array.from({ length: count }, (_, i) => {
    const seq = from + i;
    return {
      json: JSON.stringify({
        eventID: `event-${seq}`,
        recipientAccountId: "123456789012",
        ...(poison.has(seq) ? { poison: true } : {}),
      }),
    };
  });
  await journal.append(items);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("ConsumerRunner quarantine", () => {
  let directory: string;
  let store: QuarantineStore;
  const lines: string[] = [];
  const clock = { nowMs: () => 1_700_000_000_000 };

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "cairn-runner-quarantine-"));
    store = openSqliteQuarantineStore(join(directory, "quarantine.db"));
    lines.length = 0;
  });
  afterEach(async () => {
    await store.close();
    await rm(directory, { recursive: true, force: true });
  });

  function runnerFor(journal: MemoryJournal, consumer: Consumer, batchEntriesMax = 100): ConsumerRunner {
    return new ConsumerRunner(journal, consumer, {
      batchEntriesMax,
      retryDelayMsInitial: 1,
      retryDelayMsMax: 5,
      quarantine: quarantineFor(store, consumer.name, clock, (line) => lines.push(line)),
    });
  }

  it("sets aside the records the store refuses, adjacent ones too, and writes every other one", async () => {
    const journal = new MemoryJournal(clock.nowMs);
    const poison = new Set([17, 18, 19, 64]);
    await appendRecords(journal, 1, 100, poison);
    const consumer = new ListStore();
    const runner = runnerFor(journal, consumer);
    await runner.start();
    await pollUntil(() => consumer.cursor === 100, { message: "the cursor at 100" });
    await runner.stop();
    assert.deepEqual(
      consumer.written,
      range(1, 100).filter((seq) => !poison.has(seq)),
    );
    assert.equal(await store.count(), poison.size);
    const { records } = await store.list({ maxResults: 10 });
    assert.deepEqual(
      records.map((record) => [record.consumer, record.seq, record.eventId, record.accountId]),
      [...poison].map((seq) => ["list-store", seq, `event-${seq}`, "123456789012"]),
    );
    assert.equal(records[0]!.error, "Conversion Error: record 17 does not fit the column in <path>");
    assert.equal(records[0]!.quarantinedAtMs, clock.nowMs());
    assert.equal(runner.lastError, undefined);
    assert.equal(lines.filter((line) => line.includes("quarantined journal record")).length, poison.size);
    assert.ok(
      consumer.attempts.length < 60,
      `a few dozen attempts find 4 records among 100 (${consumer.attempts.length})`,
    );
  });

  it("quarantines nothing while the store is down, whatever its error says, and writes everything after", async () => {
    const journal = new MemoryJournal(clock.nowMs);
    await appendRecords(journal, 1, 40, new Set());
    const consumer = new ListStore();
    consumer.down = new Error("The store is unreachable.");
    const runner = runnerFor(journal, consumer);
    await runner.start();
    // Enough failed attempts that the runner has searched the batch more than once.
    await pollUntil(() => consumer.attempts.length >= 30, { message: "30 attempts" });
    assert.ok(
      consumer.attempts.some((attempt) => attempt.length === 1),
      "the runner searched the batch down to single records",
    );
    assert.equal(await store.count(), 0);
    consumer.down = undefined;
    await pollUntil(() => consumer.cursor === 40, { message: "the cursor at 40" });
    await runner.stop();
    assert.deepEqual(consumer.written, range(1, 40));
    assert.equal(await store.count(), 0);
    assert.deepEqual(lines, []);
  });

  it("never searches a batch that failed for a transient reason (disk full)", async () => {
    const journal = new MemoryJournal(clock.nowMs);
    await appendRecords(journal, 1, 10, new Set());
    const consumer = new ListStore();
    consumer.down = Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
    const runner = runnerFor(journal, consumer);
    await runner.start();
    await pollUntil(() => consumer.attempts.length >= 10, { message: "10 attempts" });
    assert.ok(
      consumer.attempts.every((attempt) => attempt.length === 10),
      "every attempt was the whole batch: no search for a record to blame",
    );
    consumer.down = undefined;
    await pollUntil(() => consumer.cursor === 10, { message: "the cursor at 10" });
    await runner.stop();
    assert.equal(await store.count(), 0);
  });

  it("quarantines a refused last record at once; the consumer's cursor passes it with the next record", async () => {
    const journal = new MemoryJournal(clock.nowMs);
    await appendRecords(journal, 1, 5, new Set([5]));
    const consumer = new ListStore();
    const runner = runnerFor(journal, consumer);
    await runner.start();
    await pollUntil(() => runner.cursorSeq() === 5, { message: "the runner past record 5" });
    assert.equal(consumer.cursor, 4, "the store holds everything before it");
    assert.deepEqual(
      (await store.list({ maxResults: 10 })).records.map((record) => record.seq),
      [5],
    );
    await appendRecords(journal, 6, 2, new Set());
    await pollUntil(() => consumer.cursor === 7, { message: "the cursor at 7" });
    await runner.stop();
    assert.deepEqual(consumer.written, [1, 2, 3, 4, 6, 7]);
  });

  it("does not blame a record when the store fails its probe right after the record failed alone", async () => {
    const journal = new MemoryJournal(clock.nowMs);
    await appendRecords(journal, 1, 6, new Set([3]));
    const consumer = new ListStore();
    let blips = 0;
    const probe = consumer.probe.bind(consumer);
    // The store is briefly unreachable right after record 3 failed alone, three times over.
    consumer.probe = async () => {
      const last = consumer.attempts.at(-1);
      if (blips < 3 && last?.length === 1 && last[0] === 3) {
        blips++;
        throw new Error("The store is unreachable.");
      }
      return probe();
    };
    const runner = runnerFor(journal, consumer);
    await runner.start();
    await pollUntil(() => consumer.cursor === 6, { message: "the cursor at 6" });
    await runner.stop();
    assert.equal(blips, 3);
    assert.deepEqual(consumer.written, [1, 2, 4, 5, 6]);
    assert.equal(await store.count(), 1, "quarantined once the store answered around it");
  });

  it("retries forever, quarantining nothing, for a consumer that cannot probe its store", async () => {
    const journal = new MemoryJournal(clock.nowMs);
    await appendRecords(journal, 1, 4, new Set([2]));
    const list = new ListStore();
    const consumer: Consumer = {
      name: list.name,
      loadCursor: () => list.loadCursor(),
      handle: (batch) => list.handle(batch),
    };
    const runner = runnerFor(journal, consumer);
    await runner.start();
    await pollUntil(() => list.attempts.length >= 10, { message: "10 attempts" });
    await runner.stop();
    assert.equal(await store.count(), 0);
    assert.deepEqual(list.written, []);
    assert.ok(runner.lastError instanceof Error);
  });
});
