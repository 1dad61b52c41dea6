/** Helpers of the cluster Lake tests: tagged ingest, queries polled to their end, /health's Lake part. */
import assert from "node:assert/strict";
import {
  DescribeQueryCommand,
  GetQueryResultsCommand,
  StartQueryCommand,
  type CloudTrailClient,
} from "@aws-sdk/client-cloudtrail";
import { admin } from "../lake/lake-client.js";
import { pollUntil } from "./poll.js";
import { recentRecords } from "./sample-records.js";
import { TEST_ACCOUNT_ID, type ServerProcess } from "./server-process.js";
import { ingestCall, sendRaw } from "./signed-request.js";

export const AGENT = "cluster-lake-test";
/** A bound against hanging, not a figure under test (lease TTL, flush and compaction on a loaded box). */
export const WAIT = { timeoutMs: 90_000, intervalMs: 250 };

/** `size` events of the test account tagged with `agent`. */
export function tagged(size: number, agent = AGENT): Array<Record<string, unknown>> {
  return recentRecords(size, { accountId: TEST_ACCOUNT_ID, spreadMs: 60_000 }).map((r) => ({ ...r, userAgent: agent }));
}

/** Ingests `batches` × `size` events tagged with AGENT on `node`; returns their eventIDs (acknowledged). */
export async function ingest(node: ServerProcess, batches: number, size: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < batches; i++) {
    const records = tagged(size);
    const response = await sendRaw(node.url, ingestCall(records, admin, { gzip: true }));
    assert.equal(response.status, 200, response.text);
    ids.push(...records.map((r) => String(r["eventID"])));
  }
  return ids;
}

/** StartQuery on `client`, polled to its end; the query id and its status. */
export async function runQuery(client: CloudTrailClient, sql: string): Promise<{ id: string; status: string }> {
  const { QueryId } = await client.send(new StartQueryCommand({ QueryStatement: sql }));
  const status = await pollUntil(
    async () => {
      const d = await client.send(new DescribeQueryCommand({ QueryId }));
      return d.QueryStatus === "QUEUED" || d.QueryStatus === "RUNNING" ? undefined : d.QueryStatus;
    },
    { ...WAIT, message: `query ${QueryId}` },
  );
  return { id: QueryId!, status: status! };
}

/** The one row of a finished query, read through `client` (any node). */
export async function resultRow(client: CloudTrailClient, id: string): Promise<string[]> {
  const page = await client.send(new GetQueryResultsCommand({ QueryId: id }));
  assert.equal(page.QueryStatus, "FINISHED");
  return (page.QueryResultRows ?? [])[0]!.map((cell) => Object.values(cell)[0]!);
}

export const countSql = (eds: string, agent = AGENT): string =>
  `SELECT count(*), count(DISTINCT eventID) FROM ${eds} WHERE userAgent = '${agent}'`;

/** Both counts on `client` once they reach `expected` (the writer flushes every 100 ms). */
export async function countsReach(
  client: CloudTrailClient,
  eds: string,
  expected: number,
  agent = AGENT,
): Promise<string[]> {
  return pollUntil(
    async () => {
      const { id, status } = await runQuery(client, countSql(eds, agent));
      assert.equal(status, "FINISHED");
      const row = await resultRow(client, id);
      return Number(row[0]) >= expected ? row : undefined;
    },
    { ...WAIT, message: `${expected} events in the Lake` },
  );
}

export async function health(
  node: ServerProcess,
): Promise<{ lake?: { lakeWriterLease?: boolean; compaction?: { merges: number } } }> {
  return (await (await fetch(`${node.url}/health`)).json()) as never;
}
