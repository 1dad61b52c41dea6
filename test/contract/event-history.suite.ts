import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { lookupEventFromRecord } from "../../src/consumers/event-history/derive.js";
import {
  InvalidNextTokenError,
  LOOKUP_ATTRIBUTE_KEYS,
  type EventHistory,
  type LookupEvent,
  type LookupQuery,
} from "../../src/consumers/event-history/event-history.js";
import { openFileJournal, type Journal, type JournalEntry } from "../../src/journal/index.js";
import { toEventTime, type Clock } from "../../src/lib/clock.js";
import type { CloudTrailRecord } from "../../src/model/record.js";
import { bruteForce, lookupAll } from "../event-history/brute-force.js";
import {
  FakeClock,
  interestingValues,
  NOW_MS,
  OTHER_ACCOUNT,
  OTHER_REGION,
  retimedSamples,
  samplesBackFrom,
} from "../event-history/fixtures.js";

/**
 * The EventHistory contract (src/consumers/event-history/event-history.ts), run against every
 * backend. The factory opens an index that follows `journal` (a real file journal the suite appends
 * to) with `clock` and `retentionDays`, keeping any files in `directory`; the suite closes it.
 */
export interface EventHistorySetup {
  readonly journal: Journal;
  readonly clock: Clock;
  readonly retentionDays: number;
  readonly directory: string;
}

export type OpenEventHistory = (setup: EventHistorySetup) => Promise<EventHistory>;

const ACCOUNT = "123837392027";
const REGION = "us-east-1";
const DAY_MS = 86_400_000;
const RETENTION_DAYS = 90;
/** waitFor's bound where the test is about what is visible afterwards, not about the bound. */
const CATCH_UP_MS = 60_000;

interface Subject {
  readonly history: EventHistory;
  readonly journal: Journal;
  readonly clock: FakeClock;
  cleanup(): Promise<void>;
}

function baseQuery(overrides: Partial<LookupQuery> = {}): LookupQuery {
  return {
    accountId: ACCOUNT,
    region: REGION,
    attributes: [],
    startTimeMs: NOW_MS - RETENTION_DAYS * DAY_MS,
    endTimeMs: NOW_MS,
    maxResults: 50,
    ...overrides,
  };
}

/** Appends the records and waits until the index has caught up with the journal's head. */
async function appendAndWait(subject: Subject, records: readonly CloudTrailRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += 500) {
    await subject.journal.append(records.slice(i, i + 500).map((record) => ({ json: JSON.stringify(record) })));
  }
  await subject.history.waitFor(subject.journal.headSeq(), CATCH_UP_MS);
  assert.equal(subject.history.cursor(), subject.journal.headSeq(), "the index caught up");
}

export function eventHistoryContractSuite(name: string, open: OpenEventHistory): void {
  describe(`EventHistory contract: ${name}`, () => {
    readYourWritesTests(open);
    describe("lookups over the sample records", () => {
      const samples = indexedSamples(open);
      filterTests(samples);
      orderAndPagingTests(samples);
      scopeTests(samples);
    });
    readOnlyAbsentTests(open);
    retentionTests(open);
  });
}

async function openSubject(open: OpenEventHistory): Promise<Subject> {
  const directory = mkdtempSync(join(tmpdir(), "cairn-event-history-contract-"));
  const clock = new FakeClock(NOW_MS);
  const journal = await openFileJournal({ directory: join(directory, "journal"), clock });
  const cleanup = async (history?: EventHistory): Promise<void> => {
    await history?.close();
    await journal.close();
    rmSync(directory, { recursive: true, force: true });
  };
  try {
    const history = await open({ journal, clock, retentionDays: RETENTION_DAYS, directory });
    return { history, journal, clock, cleanup: () => cleanup(history) };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

async function withSubject(open: OpenEventHistory, body: (subject: Subject) => Promise<void>): Promise<void> {
  const subject = await openSubject(open);
  try {
    await body(subject);
  } finally {
    await subject.cleanup();
  }
}

/** The re-timed sample records, indexed once for a describe block, and the journal entries (the oracle's input). */
interface IndexedSamples {
  subject: Subject;
  entries: JournalEntry[];
}

function indexedSamples(open: OpenEventHistory): IndexedSamples {
  const samples = {} as IndexedSamples;
  before(async () => {
    samples.subject = await openSubject(open);
    await appendAndWait(samples.subject, retimedSamples());
    samples.entries = await samples.subject.journal.read(1, 1_000_000);
  });
  after(() => samples.subject.cleanup());
  return samples;
}

function readYourWritesTests(open: OpenEventHistory): void {
  it("starts empty, at cursor 0", () =>
    withSubject(open, async ({ history }) => {
      assert.equal(history.cursor(), 0);
      await history.waitFor(0, CATCH_UP_MS);
      assert.deepEqual(await history.lookup(baseQuery()), { events: [] });
    }));

  it("serves appended events once waitFor(seq) resolves (read-your-writes)", () =>
    withSubject(open, async (subject) => {
      const { history, journal } = subject;
      const records = samplesBackFrom(NOW_MS - 1000, 150, 60_000);
      await appendAndWait(subject, records.slice(0, 100));
      assert.equal(history.cursor(), 100);
      const firstIds = (await lookupAll(history, baseQuery())).map((event) => event.EventId);
      assert.deepEqual(firstIds, bruteForce(await journal.read(1, 1000), baseQuery()).map(idOf));
      assert.ok(firstIds.length > 0);

      // The newest event yet, so the first page of one shows whether it is visible.
      const probe = {
        ...records.find((r) => r.eventID === firstIds[0])!,
        eventID: "probe",
        eventTime: toEventTime(NOW_MS),
      };
      const [seq] = (await journal.append([{ json: JSON.stringify(probe) }])).seqs;
      await history.waitFor(seq!, CATCH_UP_MS);
      assert.ok(history.cursor() >= seq!);
      assert.deepEqual((await history.lookup(baseQuery({ maxResults: 1 }))).events.map(idOf), ["probe"]);

      await appendAndWait(subject, records.slice(101));
      assert.deepEqual(
        (await lookupAll(history, baseQuery())).map(idOf),
        bruteForce(await journal.read(1, 1000), baseQuery()).map(idOf),
      );
    }));

  it("resolves waitFor after its timeout when the index does not get there", () =>
    withSubject(open, async (subject) => {
      await appendAndWait(subject, samplesBackFrom(NOW_MS, 3, 1000));
      const started = Date.now();
      await subject.history.waitFor(subject.journal.headSeq() + 10, 50);
      assert.ok(Date.now() - started >= 40, "waited for the timeout");
      assert.equal(subject.history.cursor(), 3);
    }));
}

function filterTests(samples: IndexedSamples): void {
  for (const key of LOOKUP_ATTRIBUTE_KEYS) {
    it(`filters by ${key}`, async () => {
      const events = samples.entries.map((entry) => lookupEventFromRecord(entry.json, JSON.parse(entry.json)));
      for (const value of interestingValues(events, key)) {
        const query = baseQuery({ attributes: [{ key, value }] });
        assert.deepEqual(
          await lookupAll(samples.subject.history, query),
          bruteForce(samples.entries, query),
          `${key}=${value}`,
        );
      }
    });
  }

  it("ANDs attributes", async () => {
    const query = baseQuery({
      attributes: [
        { key: "EventSource", value: "ec2.amazonaws.com" },
        { key: "ReadOnly", value: "false" },
      ],
    });
    const expected = bruteForce(samples.entries, query);
    assert.ok(expected.length > 0);
    assert.deepEqual(await lookupAll(samples.subject.history, query, [7]), expected);
  });

  it("ANDs three attributes with ReadOnly=false, and ReadOnly=false with ReadOnly=true (nothing)", async () => {
    const write = bruteForce(samples.entries, baseQuery({ attributes: [{ key: "ReadOnly", value: "false" }] }))[3]!;
    const three = baseQuery({
      attributes: [
        { key: "EventName", value: write.EventName },
        { key: "ReadOnly", value: "false" },
        { key: "EventSource", value: write.EventSource },
      ],
    });
    const expected = bruteForce(samples.entries, three);
    assert.ok(expected.some((event) => event.EventId === write.EventId));
    assert.deepEqual(await lookupAll(samples.subject.history, three, [2, 5]), expected);
    const both = baseQuery({
      attributes: [
        { key: "ReadOnly", value: "false" },
        { key: "ReadOnly", value: "true" },
      ],
    });
    assert.deepEqual(await lookupAll(samples.subject.history, both), []);
  });

  it("treats StartTime and EndTime as inclusive, at second precision", async () => {
    const middle = bruteForce(samples.entries, baseQuery())[400]!;
    const at = middle.EventTime * 1000;
    const exact = await lookupAll(samples.subject.history, baseQuery({ startTimeMs: at, endTimeMs: at }));
    assert.ok(exact.some((event) => event.EventId === middle.EventId));
    for (const [startTimeMs, endTimeMs] of [
      [at, at],
      [at - 1, at + 999],
      [at + 1, at + 5_000_000],
      [at - 5_000_000, at - 1],
      [at - 3 * DAY_MS, at],
    ] as const) {
      const query = baseQuery({ startTimeMs, endTimeMs });
      const label = `${startTimeMs}..${endTimeMs}`;
      assert.deepEqual(await lookupAll(samples.subject.history, query, [9]), bruteForce(samples.entries, query), label);
    }
  });
}

function orderAndPagingTests(samples: IndexedSamples): void {
  it("returns the newest events first, ties in reverse journal order", async () => {
    const events = await lookupAll(samples.subject.history, baseQuery());
    assert.ok(events.length > 500, `only ${events.length} events`);
    for (let i = 1; i < events.length; i++) assert.ok(events[i - 1]!.EventTime >= events[i]!.EventTime);
    assert.deepEqual(events.map(idOf), bruteForce(samples.entries, baseQuery()).map(idOf));
  });

  it("pages with MaxResults and NextToken through every event exactly once", async () => {
    const query = baseQuery({ attributes: [{ key: "ReadOnly", value: "true" }] });
    const expected = bruteForce(samples.entries, query);
    const sizes = Array.from({ length: 50 }, (_, i) => i + 1);
    const events = await lookupAll(samples.subject.history, query, sizes);
    assert.deepEqual(events.map(idOf), expected.map(idOf));
    assert.equal(new Set(events.map(idOf)).size, events.length);

    // A query with at most one page of matches, to look at the page boundary at its very end.
    const matches = (candidate: LookupQuery): number => bruteForce(samples.entries, candidate).length;
    const small = [...new Set(expected.map((event) => event.EventName))]
      .map((value) => baseQuery({ attributes: [{ key: "EventName", value }] }))
      .find((candidate) => matches(candidate) > 1 && matches(candidate) <= 50)!;
    const total = matches(small);
    const whole = await samples.subject.history.lookup({ ...small, maxResults: total });
    assert.equal(whole.events.length, total);
    assert.equal(whole.nextToken, undefined, "no next token on the last page");
    const first = await samples.subject.history.lookup({ ...small, maxResults: total - 1 });
    assert.ok(first.nextToken !== undefined);
    const rest = await samples.subject.history.lookup({ ...small, maxResults: 50, nextToken: first.nextToken });
    assert.deepEqual([...first.events, ...rest.events].map(idOf), whole.events.map(idOf));
    assert.equal(rest.nextToken, undefined);
  });

  it("rejects a next token used with other parameters, or garbage, with InvalidNextTokenError", async () => {
    const query = baseQuery({ attributes: [{ key: "ReadOnly", value: "true" }], maxResults: 5 });
    const { nextToken } = await samples.subject.history.lookup(query);
    assert.ok(nextToken !== undefined);
    assert.equal((await samples.subject.history.lookup({ ...query, nextToken, maxResults: 9 })).events.length, 9);
    const changed: Array<Partial<LookupQuery>> = [
      { attributes: [{ key: "ReadOnly", value: "false" }] },
      { attributes: [] },
      { startTimeMs: query.startTimeMs + 1000 },
      { endTimeMs: query.endTimeMs - 1000 },
      { accountId: OTHER_ACCOUNT },
      { region: OTHER_REGION },
      { eventCategory: "insight", attributes: [] },
    ];
    for (const overrides of changed) {
      const label = JSON.stringify(overrides);
      await assert.rejects(
        samples.subject.history.lookup({ ...query, ...overrides, nextToken }),
        InvalidNextTokenError,
        label,
      );
    }
    for (const garbage of ["", "!!!", "bm90IGEgdG9rZW4", nextToken.slice(0, -2), `${nextToken}AA`]) {
      await assert.rejects(
        samples.subject.history.lookup({ ...query, nextToken: garbage }),
        InvalidNextTokenError,
        garbage,
      );
    }
  });
}

function scopeTests(samples: IndexedSamples): void {
  it("isolates accounts and regions", async () => {
    for (const [accountId, region] of [
      [ACCOUNT, REGION],
      [OTHER_ACCOUNT, REGION],
      [ACCOUNT, OTHER_REGION],
      [OTHER_ACCOUNT, OTHER_REGION],
    ] as const) {
      const query = baseQuery({ accountId, region });
      const events = await lookupAll(samples.subject.history, query);
      assert.ok(events.length > 0, `${accountId} ${region} has events`);
      assert.deepEqual(events.map(idOf), bruteForce(samples.entries, query).map(idOf));
      for (const event of events) {
        const record = JSON.parse(event.CloudTrailEvent) as { recipientAccountId: string; awsRegion: string };
        assert.equal(record.recipientAccountId, accountId);
        assert.equal(record.awsRegion, region);
      }
    }
    assert.deepEqual(await lookupAll(samples.subject.history, baseQuery({ accountId: "999999999999" })), []);
    assert.deepEqual(await lookupAll(samples.subject.history, baseQuery({ region: "ap-south-2" })), []);
  });
}

/**
 * Records without a readOnly field, and Insights records, in between ordinary ones: the no-filter view
 * lists each once (the SQLite index answers it from the all-events and ReadOnly postings together),
 * and neither ReadOnly=true nor ReadOnly=false matches a record that has no readOnly.
 */
function readOnlyAbsentTests(open: OpenEventHistory): void {
  it("lists records without readOnly in the no-filter view only, once, across pages", () =>
    withSubject(open, async (subject) => {
      const records = samplesBackFrom(NOW_MS - 60_000, 300, 7_000).map((record, i): CloudTrailRecord => {
        if (i % 3 !== 0) return record;
        const { readOnly: _dropped, ...rest } = record;
        return i % 9 === 0 ? { ...rest, eventType: "AwsCloudTrailInsight", eventCategory: "Insight" } : rest;
      });
      await appendAndWait(subject, records);
      const entries = await subject.journal.read(1, 10_000);
      const queries = [
        baseQuery(),
        baseQuery({ eventCategory: "insight" }),
        baseQuery({ attributes: [{ key: "ReadOnly", value: "true" }] }),
        baseQuery({ attributes: [{ key: "ReadOnly", value: "false" }] }),
        baseQuery({ attributes: [{ key: "ReadOnly", value: "" }] }),
      ];
      const counts = queries.map((query) => bruteForce(entries, query).length);
      assert.ok(counts[0]! > 0 && counts[1]! > 0 && counts[2]! > 0 && counts[3]! > 0, JSON.stringify(counts));
      assert.equal(counts[4], 0);
      const absent = bruteForce(entries, baseQuery()).filter((event) => event.ReadOnly === undefined);
      assert.ok(absent.length > 0, "some listed records have no readOnly");
      for (const query of queries) {
        const events = await lookupAll(subject.history, query, [1, 7, 50]);
        assert.deepEqual(events.map(idOf), bruteForce(entries, query).map(idOf), JSON.stringify(query.attributes));
        assert.equal(new Set(events.map(idOf)).size, events.length, "each event once");
      }
    }));
}

function retentionTests(open: OpenEventHistory): void {
  it("prune() deletes the events older than the retention window", () =>
    withSubject(open, async (subject) => {
      const { history, journal, clock } = subject;
      await appendAndWait(subject, samplesBackFrom(NOW_MS - 1000, 600, 3 * 3_600_000)); // 75 days back
      const everything = baseQuery({ startTimeMs: 0, endTimeMs: NOW_MS + 365 * DAY_MS });
      assert.equal((await lookupAll(history, everything)).length, 600);

      clock.now += 30 * DAY_MS; // the oldest ≈ 15 days now fall outside the 90 days
      const pruned = await history.prune();
      assert.ok(pruned.postingsDeleted > 0, JSON.stringify(pruned));
      const cutoff = Math.floor(clock.now / 1000) - RETENTION_DAYS * 86_400;
      const expected = bruteForce(await journal.read(1, 10_000), everything, cutoff);
      assert.ok(expected.length > 0 && expected.length < 600, `${expected.length} retained`);
      assert.deepEqual((await lookupAll(history, everything)).map(idOf), expected.map(idOf));
      assert.deepEqual(await history.prune(), { partitionsDropped: 0, postingsDeleted: 0 });
    }));

  it("does not serve events already outside the retention window when appended", () =>
    withSubject(open, async (subject) => {
      await appendAndWait(subject, samplesBackFrom(NOW_MS - 80 * DAY_MS, 20, DAY_MS)); // 80..99 days old
      const everything = baseQuery({ startTimeMs: 0, endTimeMs: NOW_MS });
      assert.equal((await lookupAll(subject.history, everything)).length, 11);
    }));
}

function idOf(event: LookupEvent): string {
  return event.EventId;
}
