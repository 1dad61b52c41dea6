/** Helpers for Lake tests: an SDK client against a real server and a query-to-completion call. */
import assert from "node:assert/strict";
import {
  CloudTrailClient,
  DescribeQueryCommand,
  GetQueryResultsCommand,
  StartQueryCommand,
} from "@aws-sdk/client-cloudtrail";
import { pollUntil } from "../helpers/poll.js";
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from "../helpers/server-process.js";

export const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };

export function lakeClient(url: string, region = "us-east-1", credentials = admin): CloudTrailClient {
  return new CloudTrailClient({ endpoint: url, region, credentials, maxAttempts: 1 });
}

export interface QueryOutcome {
  readonly status: string;
  readonly error?: string;
  readonly rows: Array<Array<Record<string, string>>>;
  readonly ms: number;
}

/** StartQuery, poll, then read every page. */
export async function queryAll(client: CloudTrailClient, sql: string): Promise<QueryOutcome> {
  const started = Date.now();
  const { QueryId } = await client.send(new StartQueryCommand({ QueryStatement: sql }));
  assert.match(QueryId ?? "", /^[a-f0-9-]{36}$/);
  const d = await pollUntil(
    async () => {
      const described = await client.send(new DescribeQueryCommand({ QueryId }));
      return described.QueryStatus !== "QUEUED" && described.QueryStatus !== "RUNNING" ? described : undefined;
    },
    // No bound of its own (none before pollUntil either): the test's timeout applies.
    { timeoutMs: Number.POSITIVE_INFINITY, intervalMs: 20, message: `query ${QueryId} to end` },
  );
  if (d.QueryStatus !== "FINISHED")
    return {
      status: d.QueryStatus!,
      ...(d.ErrorMessage ? { error: d.ErrorMessage } : {}),
      rows: [],
      ms: Date.now() - started,
    };
  const rows: Array<Array<Record<string, string>>> = [];
  let token: string | undefined;
  do {
    const page = await client.send(new GetQueryResultsCommand({ QueryId, ...(token ? { NextToken: token } : {}) }));
    rows.push(...((page.QueryResultRows ?? []) as Array<Array<Record<string, string>>>));
    token = page.NextToken;
  } while (token);
  return { status: "FINISHED", rows, ms: Date.now() - started };
}

/** Expects the SDK call to fail with the named modelled exception. */
export async function refuses(call: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.equal(error.name, code, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}
