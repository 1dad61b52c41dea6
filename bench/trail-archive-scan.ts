import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { gunzipSync, gzipSync } from "node:zlib";
import { pathToFileURL } from "node:url";
import { loadSamples, recordGenerator } from "./event-history-records.js";

/**
 * The alternative a user without Cairn picks to search CloudTrail history: scan the archive of
 * gzip trail log files (1,000 records each, as CloudTrail writes them) and filter in code, as
 * `zcat … | jq 'select(.eventName == …)'` does. Same synthetic records as the Event history bench.
 * Usage: node dist/bench/trail-archive-scan.js [events=1000000]
 */
export interface TrailArchiveScanBench {
  readonly name: "trail-archive-scan";
  readonly events: number;
  readonly archiveBytesPerEvent: number;
  readonly scanMsPerQuery: number;
}

export async function benchTrailArchiveScan(events = 1_000_000): Promise<TrailArchiveScanBench> {
  const directory = mkdtempSync(join(tmpdir(), "cairn-bench-archive-"));
  try {
    const lastMs = Date.UTC(2024, 5, 1);
    const generator = recordGenerator(loadSamples(), events, lastMs - 89.9 * 86_400_000, lastMs);
    let archiveBytes = 0;
    for (let start = 0, file = 0; start < events; start += 1000, file++) {
      const records = [];
      for (let i = start; i < Math.min(events, start + 1000); i++) records.push(generator.record(i));
      const body = gzipSync(JSON.stringify({ Records: records }));
      archiveBytes += body.length;
      writeFileSync(join(directory, `${String(file).padStart(6, "0")}.json.gz`), body);
    }
    const wanted = generator.record(Math.floor(events / 2)).eventName;
    const started = performance.now();
    let matches = 0;
    for (const name of readdirSync(directory)) {
      const { Records } = JSON.parse(gunzipSync(readFileSync(join(directory, name))).toString("utf8")) as {
        Records: Array<{ eventName: string }>;
      };
      for (const record of Records) if (record.eventName === wanted) matches++;
    }
    const scanMs = performance.now() - started;
    if (matches === 0) throw new Error("The scan found nothing: the benchmark data is wrong.");
    return {
      name: "trail-archive-scan",
      events,
      archiveBytesPerEvent: Math.round(archiveBytes / events),
      scanMsPerQuery: Math.round(scanMs),
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchTrailArchiveScan(Number(process.argv[2] ?? "1000000")), null, 2));
}
