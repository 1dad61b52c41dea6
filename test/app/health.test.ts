/**
 * HealthMonitor (src/app/health.ts): what makes `/health` degraded, with a real file journal and a
 * real quarantine store; the consumers are statuses the test moves, like a Lake writer that stopped.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { HealthMonitor, type HealthFacts } from "../../src/app/health.js";
import type { ConsumerStatus } from "../../src/consumers/consumer.js";
import { openFileJournal, type Journal } from "../../src/journal/index.js";
import { openSqliteQuarantineStore, type QuarantineStore } from "../../src/stores/quarantine/index.js";

const MAX_LAG_SECONDS = 300;

describe("HealthMonitor", () => {
  let directory: string;
  let journal: Journal;
  let quarantine: QuarantineStore;
  let nowMs: number;
  let statuses: ConsumerStatus[];
  let monitor: HealthMonitor;
  const clock = { nowMs: () => nowMs };

  beforeEach(async () => {
    nowMs = Date.UTC(2026, 0, 1);
    directory = await mkdtemp(join(tmpdir(), "cairn-health-"));
    journal = await openFileJournal({ directory: join(directory, "journal"), clock });
    quarantine = openSqliteQuarantineStore(join(directory, "quarantine.db"));
    statuses = [];
    monitor = new HealthMonitor({
      journal,
      consumers: () => statuses,
      quarantine,
      clock,
      maxLagSeconds: MAX_LAG_SECONDS,
    });
  });
  afterEach(async () => {
    await journal.close();
    await quarantine.close();
    await rm(directory, { recursive: true, force: true });
  });

  const status = (name: string, cursor: number, progressSeq?: number): ConsumerStatus => ({
    name,
    cursor,
    neededFromSeq: cursor + 1,
    ...(progressSeq !== undefined ? { progressSeq } : {}),
  });

  /** The facts one second later (the monitor computes at most once a second). */
  async function factsAfter(seconds: number): Promise<HealthFacts> {
    nowMs += seconds * 1000;
    return monitor.facts();
  }

  async function appendRecords(count: number): Promise<void> {
    await journal.append(Array.from({ length: count }, (_, i) => ({ json: `{"n":${i}}` })));
  }

  it("is ok with a writable journal, consumers at the head and an empty quarantine", async () => {
    await appendRecords(3);
    statuses = [status("event-history", 3), status("trail-delivery:x", 1, 3)];
    const facts = await monitor.facts();
    assert.equal(facts.status, "ok");
    assert.deepEqual(facts.reasons, []);
    assert.equal(facts.journalProblem, undefined);
    assert.equal(facts.quarantinedRecords, 0);
    assert.deepEqual(facts.consumers["trail-delivery:x"], { lagRecords: 0, lagSeconds: 0, progressSeq: 3 });
  });

  it("reports a consumer lagging past the limit by the age of its oldest waiting record", async () => {
    await appendRecords(5); // journaled at nowMs
    statuses = [status("lake-writer", 2)];
    let facts = await factsAfter(MAX_LAG_SECONDS);
    assert.equal(facts.status, "ok", "exactly at the limit is not past it");
    assert.deepEqual(facts.consumers["lake-writer"], { lagRecords: 3, lagSeconds: 300, progressSeq: 2 });
    statuses = [status("lake-writer", 3)];
    facts = await factsAfter(2);
    assert.equal(facts.status, "degraded");
    assert.deepEqual(
      facts.reasons.map((reason) => [reason.code, reason.consumer]),
      [["consumer_lagging", "lake-writer"]],
    );
    statuses = [status("lake-writer", 5)];
    assert.equal((await factsAfter(1)).status, "ok", "caught up");
  });

  it("reports a consumer stalled once its progress has not moved for the limit while records wait", async () => {
    await appendRecords(1);
    statuses = [status("event-history", 0)];
    assert.equal((await monitor.facts()).status, "ok", "the first look starts the clock");
    assert.equal((await factsAfter(MAX_LAG_SECONDS - 1)).status, "ok");
    const facts = await factsAfter(1);
    assert.deepEqual(
      facts.reasons.map((reason) => [reason.code, reason.consumer]),
      [["consumer_stalled", "event-history"]],
    );
    assert.match(facts.reasons[0]!.message, /has not moved for 300 s while 1 record/);
    statuses = [status("event-history", 1)];
    assert.equal((await factsAfter(1)).status, "ok", "moving again");
  });

  it("does not call a consumer stalled that keeps moving while records keep arriving", async () => {
    for (let step = 0; step < 10; step++) {
      await appendRecords(1);
      // One record behind, always: the consumer moves, and its oldest waiting record is young.
      statuses = [status("lake-writer", journal.headSeq() - 1)];
      const facts = await factsAfter(MAX_LAG_SECONDS / 3);
      assert.equal(facts.status, "ok", `step ${step}: ${JSON.stringify(facts.reasons)}`);
      assert.equal(facts.consumers["lake-writer"]?.lagRecords, 1);
      // The record waits from when it was journaled, MAX_LAG_SECONDS / 3 ago.
      assert.equal(facts.consumers["lake-writer"]?.lagSeconds, MAX_LAG_SECONDS / 3);
    }
  });

  it("reports quarantined records, and a journal that cannot take writes", async () => {
    await quarantine.add({ consumer: "lake-writer", seq: 1, error: "refused", quarantinedAtMs: nowMs });
    let facts = await monitor.facts();
    assert.deepEqual(
      facts.reasons.map((reason) => reason.code),
      ["records_quarantined"],
    );
    assert.equal(facts.quarantinedRecords, 1);
    await journal.close();
    facts = await factsAfter(1);
    assert.deepEqual(
      facts.reasons.map((reason) => reason.code),
      ["journal_unwritable", "records_quarantined"],
    );
    assert.match(facts.journalProblem ?? "", /closed/);
  });

  it("reports a database that refuses or does not answer, without its error text, and never doubles a hung check", async () => {
    let calls = 0;
    let answer: () => Promise<void> = () =>
      Promise.reject(new Error("password authentication failed for cairn@db-host"));
    const withDatabase = new HealthMonitor({
      journal,
      consumers: () => statuses,
      quarantine,
      clock,
      maxLagSeconds: MAX_LAG_SECONDS,
      database: () => {
        calls++;
        return answer();
      },
    });
    let facts = await withDatabase.facts();
    assert.deepEqual(
      facts.reasons.map((reason) => reason.code),
      ["database_unreachable"],
    );
    assert.doesNotMatch(JSON.stringify(facts.reasons), /db-host|password/);
    let release: () => void = () => undefined;
    answer = () => new Promise<void>((resolve) => (release = resolve));
    nowMs += 1000;
    facts = await withDatabase.facts();
    assert.match(facts.databaseProblem ?? "", /did not answer within 3 s/);
    nowMs += 1000;
    facts = await withDatabase.facts();
    assert.equal(calls, 2, "the hung check is awaited again, not repeated");
    release();
    nowMs += 1000;
    facts = await withDatabase.facts();
    assert.equal(facts.status, "ok");
    assert.equal(facts.databaseProblem, undefined);
  });

  it("reports the cluster retention floor, null when it cannot be read, and never doubles a hung read", async () => {
    let reads = 0;
    let answer: () => Promise<number> = async () => 42;
    const withFloor = new HealthMonitor({
      journal,
      consumers: () => statuses,
      quarantine,
      clock,
      maxLagSeconds: MAX_LAG_SECONDS,
      retentionFloor: () => {
        reads++;
        return answer();
      },
    });
    assert.equal((await withFloor.facts()).retentionFloorSeq, 42);
    answer = () => Promise.reject(new Error("connection refused by db-host"));
    assert.equal((await factsOf(withFloor)).retentionFloorSeq, null);
    let release: (floor: number) => void = () => undefined;
    answer = () => new Promise<number>((resolve) => (release = resolve));
    assert.equal((await factsOf(withFloor)).retentionFloorSeq, null, "a read that does not answer in time");
    assert.equal((await factsOf(withFloor)).retentionFloorSeq, null);
    assert.equal(reads, 3, "the hung read is awaited again, not repeated");
    release(7);
    assert.equal((await factsOf(withFloor)).retentionFloorSeq, 7);
    assert.equal((await monitor.facts()).retentionFloorSeq, null, "none without a database");
  });

  /** A monitor's facts one second later. */
  function factsOf(target: HealthMonitor): Promise<HealthFacts> {
    nowMs += 1000;
    return target.facts();
  }

  it("computes at most once a second, whatever the number of calls", async () => {
    const first = monitor.facts();
    assert.equal(monitor.facts(), first);
    nowMs += 999;
    assert.equal(monitor.facts(), first);
    nowMs += 1;
    assert.notEqual(monitor.facts(), first);
  });
});
