import { classifyRecord, lookupEventFromRecord } from "../../src/consumers/event-history/derive.js";
import type { EventHistory, LookupEvent, LookupQuery } from "../../src/consumers/event-history/event-history.js";
import { eventHasAttribute } from "../../src/consumers/event-history/posting-key.js";
import type { JournalEntry } from "../../src/journal/journal.js";
import { recordAccountId, type CloudTrailRecord } from "../../src/model/record.js";

/** The answer LookupEvents must give, computed by scanning every entry: the oracle for the index. */
export function bruteForce(
  entries: readonly JournalEntry[],
  query: LookupQuery,
  cutoffTime = -Infinity,
): LookupEvent[] {
  const startTime = Math.ceil(query.startTimeMs / 1000);
  const endTime = Math.floor(query.endTimeMs / 1000);
  const category = query.eventCategory ?? "management";
  const hits: Array<{ seq: number; event: LookupEvent }> = [];
  for (const entry of entries) {
    let record: CloudTrailRecord;
    try {
      record = JSON.parse(entry.json) as CloudTrailRecord;
    } catch {
      continue;
    }
    if (classifyRecord(record) !== category) continue;
    if (recordAccountId(record) !== query.accountId || record.awsRegion !== query.region) continue;
    const event = lookupEventFromRecord(entry.json, record);
    if (event.EventTime < startTime || event.EventTime > endTime || event.EventTime < cutoffTime) continue;
    if (
      category === "insight" &&
      query.attributes.some((a) => !["EventId", "EventName", "EventSource"].includes(a.key))
    ) {
      continue;
    }
    if (query.attributes.every((a) => eventHasAttribute(event, a.key, a.value))) hits.push({ seq: entry.seq, event });
  }
  hits.sort((a, b) => b.event.EventTime - a.event.EventTime || b.seq - a.seq);
  return hits.map((hit) => hit.event);
}

/** Every event of a query, following next tokens; page sizes cycle through `pageSizes`. */
export async function lookupAll(
  history: EventHistory,
  query: LookupQuery,
  pageSizes: readonly number[] = [50],
): Promise<LookupEvent[]> {
  const events: LookupEvent[] = [];
  let nextToken: string | undefined;
  for (let page = 0; ; page++) {
    const maxResults = pageSizes[page % pageSizes.length]!;
    const result = await history.lookup({ ...query, maxResults, ...(nextToken === undefined ? {} : { nextToken }) });
    if (result.events.length > maxResults)
      throw new Error(`Page of ${result.events.length} > MaxResults ${maxResults}.`);
    events.push(...result.events);
    if (result.nextToken === undefined) return events;
    if (page > 100_000) throw new Error("Pagination does not end.");
    nextToken = result.nextToken;
  }
}
