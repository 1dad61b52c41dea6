import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock } from "../../src/lib/clock.js";
import { toEventTime } from "../../src/lib/clock.js";
import type { CloudTrailRecord } from "../../src/model/record.js";
import type { LookupAttributeKey, LookupEvent } from "../../src/consumers/event-history/event-history.js";
import {
  openSqliteEventHistory,
  type SqliteEventHistory,
} from "../../src/consumers/event-history/sqlite-event-history.js";
import { MemoryJournal } from "../helpers/memory-journal.js";
import { invictusRecords, samplesMissingReason } from "../helpers/sample-records.js";
import { syntheticArchive } from "../helpers/synthetic-records.js";

/**
 * Real CloudTrail records (2,900, one account, us-east-1), read from the shared data folder, never
 * copied into the repo; without it, as many records built in code, so the lookups still have data.
 */
export function loadSampleRecords(): CloudTrailRecord[] {
  const records = samplesMissingReason() === false ? invictusRecords() : syntheticArchive(2_900);
  return records as unknown as CloudTrailRecord[];
}

export const NOW_MS = Date.UTC(2024, 5, 1, 12, 0, 0);
export const OTHER_ACCOUNT = "111122223333";
export const OTHER_REGION = "eu-west-1";

export class FakeClock implements Clock {
  constructor(public now: number) {}
  nowMs(): number {
    return this.now;
  }
}

/** `count` sample records, one every `stepMs` going back from `newestMs`. */
export function samplesBackFrom(newestMs: number, count: number, stepMs: number): CloudTrailRecord[] {
  return loadSampleRecords()
    .slice(0, count)
    .map((record, i) => ({ ...record, eventTime: toEventTime(newestMs - i * stepMs) }));
}

/**
 * The samples re-timed into the retention window (three records per second, 2,381 s apart, so
 * ties and several day tables occur), with some moved to another account or region.
 */
export function retimedSamples(): CloudTrailRecord[] {
  return loadSampleRecords().map((record, i) => {
    const copy: CloudTrailRecord = {
      ...record,
      eventTime: toEventTime(NOW_MS - 60_000 - Math.floor(i / 3) * 2_381_000),
    };
    if (i % 7 === 0) copy.recipientAccountId = OTHER_ACCOUNT;
    if (i % 11 === 0) copy.awsRegion = OTHER_REGION;
    return copy;
  });
}

function attributeValues(event: LookupEvent, key: LookupAttributeKey): string[] {
  if (key === "ResourceType")
    return event.Resources.flatMap((r) => (r.ResourceType === undefined ? [] : [r.ResourceType]));
  if (key === "ResourceName")
    return event.Resources.flatMap((r) => (r.ResourceName === undefined ? [] : [r.ResourceName]));
  const value = event[key];
  return value === undefined ? [] : [value];
}

/** For each attribute key: its two most frequent values, two rare ones, and one that matches nothing. */
export function interestingValues(events: readonly LookupEvent[], key: LookupAttributeKey): string[] {
  const counts = new Map<string, number>();
  for (const event of events)
    for (const value of attributeValues(event, key)) counts.set(value, (counts.get(value) ?? 0) + 1);
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([value]) => value);
  return [...new Set([...sorted.slice(0, 2), ...sorted.slice(-2), `no-such-${key}`])];
}

export interface Harness {
  readonly journal: MemoryJournal;
  readonly history: SqliteEventHistory;
  readonly clock: FakeClock;
  readonly directory: string;
  readonly path: string;
  cleanup(): Promise<void>;
}

export async function openHarness(retentionDays = 90, scanRowsMax?: number): Promise<Harness> {
  const directory = mkdtempSync(join(tmpdir(), "cairn-event-history-"));
  const clock = new FakeClock(NOW_MS);
  const journal = new MemoryJournal(() => clock.now);
  const path = join(directory, "index", "event-history.sqlite");
  const history = await openSqliteEventHistory({
    path,
    journal,
    clock,
    retentionDays,
    ...(scanRowsMax === undefined ? {} : { scanRowsMax }),
  });
  return {
    journal,
    history,
    clock,
    directory,
    path,
    async cleanup() {
      await history.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Appends the records and runs the consumer over the journal the way the runner does. */
export async function ingest(harness: Harness, jsons: readonly string[], batchSize = 500): Promise<void> {
  await harness.journal.append(jsons.map((json) => ({ json })));
  await catchUp(harness, batchSize);
}

export async function catchUp(harness: Harness, batchSize = 500): Promise<void> {
  for (;;) {
    const batch = await harness.journal.read((await harness.history.loadCursor()) + 1, batchSize);
    if (batch.length === 0) return;
    await harness.history.handle(batch);
  }
}
