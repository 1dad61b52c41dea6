import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { lookupEventFromRecord } from "../../src/consumers/event-history/derive.js";
import {
  InvalidNextTokenError,
  LOOKUP_ATTRIBUTE_KEYS,
  type LookupEvent,
  type LookupQuery,
} from "../../src/consumers/event-history/event-history.js";
import type { JournalEntry } from "../../src/journal/journal.js";
import { bruteForce, lookupAll } from "./brute-force.js";
import {
  ingest,
  interestingValues,
  NOW_MS,
  openHarness,
  OTHER_ACCOUNT,
  OTHER_REGION,
  retimedSamples,
  type Harness,
} from "./fixtures.js";

const ACCOUNT = "123837392027";
const REGION = "us-east-1";
const DAY_MS = 86_400_000;

function baseQuery(overrides: Partial<LookupQuery> = {}): LookupQuery {
  return {
    accountId: ACCOUNT,
    region: REGION,
    attributes: [],
    startTimeMs: NOW_MS - 90 * DAY_MS,
    endTimeMs: NOW_MS,
    maxResults: 50,
    ...overrides,
  };
}

/** The re-timed samples, indexed: the journal entries are the oracle's input. */
async function indexedSamples(scanRowsMax?: number): Promise<{ harness: Harness; entries: JournalEntry[] }> {
  const harness = await openHarness(90, scanRowsMax);
  await ingest(
    harness,
    retimedSamples().map((record) => JSON.stringify(record)),
  );
  return { harness, entries: await harness.journal.read(1, 1_000_000) };
}

describe("SqliteEventHistory lookups agree with a brute-force scan", () => {
  let harness: Harness;
  let entries: JournalEntry[];
  let allEvents: LookupEvent[];

  before(async () => {
    ({ harness, entries } = await indexedSamples());
    allEvents = entries.map((entry) => lookupEventFromRecord(entry.json, JSON.parse(entry.json)));
  });
  after(() => harness.cleanup());

  for (const key of LOOKUP_ATTRIBUTE_KEYS) {
    it(`filters by ${key}`, async () => {
      for (const value of interestingValues(allEvents, key)) {
        const query = baseQuery({ attributes: [{ key, value }] });
        const expected = bruteForce(entries, query);
        assert.deepEqual(await lookupAll(harness.history, query), expected, `${key}=${value}`);
      }
    });
  }

  it("pages through every event exactly once with MaxResults 1..50", async () => {
    const query = baseQuery();
    const expected = bruteForce(entries, query);
    assert.ok(expected.length > 500, `only ${expected.length} events`);
    const sizes = Array.from({ length: 50 }, (_, i) => i + 1);
    const events = await lookupAll(harness.history, query, sizes);
    assert.deepEqual(
      events.map((e) => e.EventId),
      expected.map((e) => e.EventId),
    );
    assert.equal(new Set(events.map((e) => e.EventId)).size, events.length);
  });

  it("ANDs two attributes", async () => {
    for (const attributes of [
      [
        { key: "EventSource" as const, value: "ec2.amazonaws.com" },
        { key: "ReadOnly" as const, value: "false" },
      ],
      [
        { key: "ReadOnly" as const, value: "true" },
        { key: "ResourceType" as const, value: "AWS::KMS::Key" },
      ],
      [
        { key: "EventName" as const, value: "ListUsers" },
        { key: "EventName" as const, value: "GetUser" },
      ],
    ]) {
      const query = baseQuery({ attributes });
      const expected = bruteForce(entries, query);
      assert.deepEqual(await lookupAll(harness.history, query, [7]), expected);
    }
    const both = bruteForce(
      entries,
      baseQuery({
        attributes: [
          { key: "EventSource", value: "ec2.amazonaws.com" },
          { key: "ReadOnly", value: "false" },
        ],
      }),
    );
    assert.ok(both.length > 0);
  });

  it("treats StartTime and EndTime as inclusive at second precision", async () => {
    const middle = bruteForce(entries, baseQuery())[400]!;
    const at = middle.EventTime * 1000;
    for (const [startTimeMs, endTimeMs] of [
      [at, at],
      [at - 1, at + 999],
      [at + 1, at + 5_000_000],
      [at - 5_000_000, at - 1],
      [at - 3 * DAY_MS, at],
    ] as const) {
      const query = baseQuery({ startTimeMs, endTimeMs });
      assert.deepEqual(
        await lookupAll(harness.history, query, [9]),
        bruteForce(entries, query),
        `${startTimeMs}..${endTimeMs}`,
      );
    }
    const exact = await harness.history.lookup(baseQuery({ startTimeMs: at, endTimeMs: at }));
    assert.ok(exact.events.some((e) => e.EventId === middle.EventId));
  });
});

describe("SqliteEventHistory scoping and next tokens", () => {
  let harness: Harness;
  let entries: JournalEntry[];

  before(async () => ({ harness, entries } = await indexedSamples()));
  after(() => harness.cleanup());

  it("isolates accounts and regions", async () => {
    for (const [accountId, region] of [
      [OTHER_ACCOUNT, REGION],
      [ACCOUNT, OTHER_REGION],
      [OTHER_ACCOUNT, OTHER_REGION],
      ["999999999999", REGION],
    ] as const) {
      const query = baseQuery({ accountId, region, attributes: [{ key: "ReadOnly", value: "true" }] });
      const events = await lookupAll(harness.history, query);
      assert.deepEqual(events, bruteForce(entries, query));
      for (const event of events) {
        const record = JSON.parse(event.CloudTrailEvent) as { recipientAccountId: string; awsRegion: string };
        assert.equal(record.recipientAccountId, accountId);
        assert.equal(record.awsRegion, region);
      }
    }
  });

  it("returns no next token on the last page", async () => {
    const total = bruteForce(
      entries,
      baseQuery({ attributes: [{ key: "EventSource", value: "kms.amazonaws.com" }] }),
    ).length;
    const exact = await harness.history.lookup(
      baseQuery({ attributes: [{ key: "EventSource", value: "kms.amazonaws.com" }], maxResults: total }),
    );
    assert.equal(exact.events.length, total);
    assert.equal(exact.nextToken, undefined);
  });

  it("rejects a next token used with other parameters, or garbage", async () => {
    const query = baseQuery({ attributes: [{ key: "ReadOnly", value: "true" }], maxResults: 5 });
    const { nextToken } = await harness.history.lookup(query);
    assert.ok(nextToken !== undefined);
    // A different page size is the same pagination.
    assert.equal((await harness.history.lookup({ ...query, nextToken, maxResults: 9 })).events.length, 9);
    const changed: Array<Partial<LookupQuery>> = [
      { attributes: [{ key: "ReadOnly", value: "false" }] },
      { attributes: [] },
      { startTimeMs: query.startTimeMs + 1000 },
      { endTimeMs: query.endTimeMs - 1000 },
      { accountId: OTHER_ACCOUNT },
      { region: OTHER_REGION },
      { eventCategory: "insight", attributes: [] },
      { eventCategory: "dataInsight", attributes: [] },
    ];
    for (const overrides of changed) {
      await assert.rejects(harness.history.lookup({ ...query, ...overrides, nextToken }), InvalidNextTokenError);
    }
    for (const garbage of ["", "!!!", "bm90IGEgdG9rZW4", nextToken.slice(0, -2), `${nextToken}AA`, "a".repeat(5000)]) {
      await assert.rejects(harness.history.lookup({ ...query, nextToken: garbage }), InvalidNextTokenError, garbage);
    }
  });

  it("lets a defaulted EndTime move between pages", async () => {
    const query = baseQuery({ endTimeDefaulted: true, maxResults: 3 });
    const first = await harness.history.lookup(query);
    assert.ok(first.nextToken !== undefined);
    const second = await harness.history.lookup({
      ...query,
      endTimeMs: query.endTimeMs + 5000,
      nextToken: first.nextToken,
    });
    const expected = bruteForce(entries, query).slice(3, 6);
    assert.deepEqual(second.events, expected);
  });
});

describe("SqliteEventHistory with a tiny AND scan budget", () => {
  let harness: Harness;
  let entries: JournalEntry[];

  before(async () => ({ harness, entries } = await indexedSamples(5)));
  after(() => harness.cleanup());

  it("returns short pages with next tokens and still visits exactly the matching events", async () => {
    const sparse = baseQuery({
      attributes: [
        { key: "EventSource", value: "kms.amazonaws.com" },
        { key: "ReadOnly", value: "false" },
      ],
    });
    const first = await harness.history.lookup(sparse);
    assert.ok(first.nextToken !== undefined && first.events.length < 50);
    for (const query of [
      sparse,
      baseQuery({
        attributes: [
          { key: "ReadOnly", value: "true" },
          { key: "EventSource", value: "ec2.amazonaws.com" },
        ],
      }),
      baseQuery({ attributes: [{ key: "ReadOnly", value: "true" }] }),
    ]) {
      assert.deepEqual(await lookupAll(harness.history, query, [3, 50]), bruteForce(entries, query));
    }
  });
});
