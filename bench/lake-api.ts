import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import {
  GetImportCommand,
  GetQueryResultsCommand,
  StartImportCommand,
  StartQueryCommand,
  type CloudTrailClient,
} from "@aws-sdk/client-cloudtrail";
import { BENCH_REGION } from "./server-process.js";

/** The Lake calls the Lake benches time, as a client makes them: the same path for every bench. */

/** How often GetImport is polled; at most this much is added to an import's measured time. */
const IMPORT_POLL_MS = 200;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? 0;
}

/**
 * StartQuery → GetQueryResults until FINISHED (the server holds it until the query ends, and its
 * FINISHED answer is the first page) → the other pages; returns the row count. No DescribeQuery: it
 * was one more audited round trip per query (decision 0028).
 */
export async function runLakeQuery(client: CloudTrailClient, sql: string): Promise<number> {
  const { QueryId } = await client.send(new StartQueryCommand({ QueryStatement: sql }));
  let rows = 0;
  let token: string | undefined;
  for (;;) {
    const page = await client.send(new GetQueryResultsCommand({ QueryId, ...(token ? { NextToken: token } : {}) }));
    if (page.QueryStatus === "QUEUED" || page.QueryStatus === "RUNNING") {
      await sleep(2);
      continue;
    }
    if (page.QueryStatus !== "FINISHED") throw new Error(`${sql}: ${page.QueryStatus} ${page.ErrorMessage ?? ""}`);
    rows += page.QueryResultRows?.length ?? 0;
    token = page.NextToken;
    if (!token) return rows;
  }
}

/** StartImport file://<directory> and wait for COMPLETED; returns the seconds it took and the events imported. */
export async function importDirectory(
  client: CloudTrailClient,
  storeId: string,
  directory: string,
): Promise<{ seconds: number; imported: number }> {
  const started = performance.now();
  const { ImportId } = await client.send(
    new StartImportCommand({
      Destinations: [storeId],
      ImportSource: {
        S3: { S3LocationUri: pathToFileURL(directory).href, S3BucketRegion: BENCH_REGION, S3BucketAccessRoleArn: "" },
      },
    }),
  );
  for (;;) {
    const got = await client.send(new GetImportCommand({ ImportId }));
    if (got.ImportStatus === "COMPLETED") {
      return { seconds: (performance.now() - started) / 1000, imported: got.ImportStatistics?.EventsCompleted ?? 0 };
    }
    if (got.ImportStatus !== "INITIALIZING" && got.ImportStatus !== "IN_PROGRESS")
      throw new Error(`import ended ${got.ImportStatus}`);
    // Not faster: every GetImport is self-audited (journal, Event history, rules, Sigma, each with
    // its fsync), which at 20 calls a second took a tenth of the server's time from the import.
    await sleep(IMPORT_POLL_MS);
  }
}
