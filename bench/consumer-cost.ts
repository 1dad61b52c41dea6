import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { postingRowsOf } from "../src/consumers/event-history/lookup-pages.js";
import { PostingStore } from "../src/consumers/event-history/posting-store.js";
import { countBatch } from "../src/consumers/insights/series-counter.js";
import { PostingHints } from "../src/consumers/event-history/posting-hints.js";
import type { JournalAppendItem, JournalEntry } from "../src/journal/journal.js";
import type { CloudTrailRecord } from "../src/model/record.js";
import { openSqliteInsightSeriesStore } from "../src/stores/insights/sqlite-insight-series-store.js";
import { incrementsOf } from "../src/stores/insights/series-rows.js";
import { loadSamples, recordGenerator } from "./event-history-records.js";

/**
 * CPU per event of the two largest consumers of ingest, each on its own (one thread, no HTTP, no
 * other load of ours), in batches of `batch` entries of the http-ingest bench's records: the Event
 * history indexer's derivation (JSON.parse, LookupEvents fields, posting keys), the same from records
 * already parsed (what the server thread does for ingested records since decision 0020's third slice),
 * its SQLite writes (postings and cursor, one `synchronous=FULL` transaction per batch), and Insights' counting and its
 * upserts. A profile of the server counts time a thread waits (fsync, or the CPU it did not get on a
 * loaded machine) as busy; this counts CPU only (decision 0020).
 * Usage: node dist/bench/consumer-cost.js [events=60000] [batch=1000]
 */
export interface ConsumerCostBench {
  readonly name: "consumer-cost";
  readonly events: number;
  readonly batch: number;
  readonly indexDeriveMicrosPerEvent: number;
  /**
   * The same postings derived from the record already parsed (as the server thread now does for the
   * ingest path, decision 0020 third slice: fields, keys and packing for the worker, no JSON.parse).
   */
  readonly indexDeriveFromRecordMicrosPerEvent: number;
  readonly indexWriteMicrosPerEvent: number;
  readonly postingsPerEvent: number;
  readonly insightsCountMicrosPerEvent: number;
  readonly insightsUpsertMicrosPerEvent: number;
  /** Rows upserted per event (points + attributions + series). */
  readonly insightsRowsPerEvent: number;
}

const cpuMicros = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

function benchItems(events: number): JournalAppendItem[] {
  const nowMs = Date.now();
  const generator = recordGenerator(loadSamples(), events, nowMs - 3_600_000, nowMs - 1_000);
  return Array.from({ length: events }, (_, i) => {
    const json = JSON.stringify(generator.record(i));
    return { json, record: JSON.parse(json) as CloudTrailRecord };
  });
}

export async function benchConsumerCost(events = 60_000, batch = 1_000): Promise<ConsumerCostBench> {
  const items = benchItems(events);
  const entries: JournalEntry[] = items.map((item, i) => ({ seq: i + 1, json: item.json, appendedAtMs: 0 }));
  const hints = new PostingHints(events);
  const directory = mkdtempSync(join(tmpdir(), "cairn-bench-consumer-cost-"));
  const postings = new PostingStore(join(directory, "event-history.db"));
  const series = openSqliteInsightSeriesStore(join(directory, "insights.db"));
  const spent = { derive: 0, fromRecord: 0, write: 0, count: 0, upsert: 0, postings: 0, rows: 0 };
  try {
    for (let start = 0; start < events; start += batch) {
      const part = entries.slice(start, start + batch);
      const toSeq = part.at(-1)!.seq;
      const h0 = cpuMicros();
      hints.add({ firstSeq: start + 1, appendedAtMs: 0, items: items.slice(start, start + batch) });
      spent.fromRecord += cpuMicros() - h0;
      const t0 = cpuMicros();
      const rows = postingRowsOf(part, 0, { indexed: 0, notEventHistory: 0, expired: 0, unparsable: 0 });
      const t1 = cpuMicros();
      postings.apply(rows, toSeq);
      const t2 = cpuMicros();
      const counted = countBatch(part, Date.now());
      const t3 = cpuMicros();
      await series.addCounts({ toSeq, ...counted });
      const t4 = cpuMicros();
      Object.assign(spent, {
        derive: spent.derive + t1 - t0,
        write: spent.write + t2 - t1,
        count: spent.count + t3 - t2,
        upsert: spent.upsert + t4 - t3,
      });
      for (const row of rows) spent.postings += row.keys.length;
      const increments = incrementsOf({ toSeq, ...counted });
      spent.rows += increments.points.length + increments.attributions.length + increments.series.length;
    }
  } finally {
    postings.close();
    await series.close();
    rmSync(directory, { recursive: true, force: true });
  }
  const perEvent = (value: number): number => Number((value / events).toFixed(1));
  return {
    name: "consumer-cost",
    events,
    batch,
    indexDeriveMicrosPerEvent: perEvent(spent.derive),
    indexDeriveFromRecordMicrosPerEvent: perEvent(spent.fromRecord),
    indexWriteMicrosPerEvent: perEvent(spent.write),
    postingsPerEvent: Number((spent.postings / events).toFixed(2)),
    insightsCountMicrosPerEvent: perEvent(spent.count),
    insightsUpsertMicrosPerEvent: perEvent(spent.upsert),
    insightsRowsPerEvent: Number((spent.rows / events).toFixed(2)),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [events, batch] = process.argv.slice(2).map(Number);
  console.log(JSON.stringify(await benchConsumerCost(events || undefined, batch || undefined), null, 2));
}
