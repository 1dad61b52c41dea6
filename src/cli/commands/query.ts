import { performance } from "node:perf_hooks";
import { CloudTrailClient, GetQueryResultsCommand, StartQueryCommand } from "@aws-sdk/client-cloudtrail";
import Table from "cli-table3";
import type { ClientSettings } from "../../client/client-settings.js";
import type { Output } from "../output.js";

export interface QueryOptions {
  readonly client: ClientSettings;
  readonly sql: string;
  readonly json?: boolean;
  readonly csv?: boolean;
  readonly stdout: Output;
  /** Poll interval while the query runs. */
  readonly pollMs?: number;
}

export function cloudTrailClient(settings: ClientSettings): CloudTrailClient {
  const { credentials } = settings;
  return new CloudTrailClient({
    endpoint: settings.endpointUrl,
    region: settings.region,
    maxAttempts: 1,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    },
  });
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** A finished query's rows: column names (from the first row) and the values, as strings. */
export interface QueryRows {
  readonly columns: string[];
  readonly rows: string[][];
}

/**
 * StartQuery, then GetQueryResults until the query ends (the server holds it until then, up to a
 * second, and the FINISHED answer is the first page; decision 0028), then the other pages. Throws
 * when the query fails.
 */
export async function fetchQueryRows(client: CloudTrailClient, sql: string, pollMs = 200): Promise<QueryRows> {
  const { QueryId } = await client.send(new StartQueryCommand({ QueryStatement: sql }));
  let columns: string[] = [];
  const rows: string[][] = [];
  let nextToken: string | undefined;
  for (;;) {
    const asked = performance.now();
    const page = await client.send(
      new GetQueryResultsCommand({ QueryId, ...(nextToken ? { NextToken: nextToken } : {}) }),
    );
    if (page.QueryStatus === "QUEUED" || page.QueryStatus === "RUNNING") {
      // A held answer already waited; only a quick one (another server's query) waits here.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, pollMs - (performance.now() - asked))));
      continue;
    }
    if (page.QueryStatus !== "FINISHED")
      throw new Error(`Query ${QueryId} ${page.QueryStatus}: ${page.ErrorMessage ?? "no message"}`);
    for (const row of page.QueryResultRows ?? []) {
      if (columns.length === 0) columns = row.map((cell) => Object.keys(cell)[0] ?? "");
      rows.push(row.map((cell) => Object.values(cell)[0] ?? ""));
    }
    nextToken = page.NextToken;
    if (nextToken === undefined) return { columns, rows };
  }
}

/**
 * `cairn query "SQL"`: runs the query (fetchQueryRows) and prints a table, JSON (a list of
 * objects) or CSV. Throws when the query fails.
 *
 * @example await runQuery({ client, sql: "SELECT eventName, count(*) n FROM <eds-id> GROUP BY 1", stdout: process.stdout });
 */
export async function runQuery(options: QueryOptions): Promise<string[][]> {
  const client = cloudTrailClient(options.client);
  try {
    const { columns, rows } = await fetchQueryRows(client, options.sql, options.pollMs);
    options.stdout.write(render(columns, rows, options));
    return rows;
  } finally {
    client.destroy();
  }
}

function render(columns: string[], rows: string[][], options: QueryOptions): string {
  if (options.json)
    return (
      JSON.stringify(
        rows.map((row) => Object.fromEntries(row.map((v, i) => [columns[i], v]))),
        null,
        2,
      ) + "\n"
    );
  if (options.csv) return [columns, ...rows].map((row) => row.map(csvField).join(",")).join("\n") + "\n";
  if (rows.length === 0) return "(no rows)\n";
  const table = new Table({ head: columns, wordWrap: true });
  for (const row of rows) table.push(row);
  return `${table.toString()}\n${rows.length} row${rows.length === 1 ? "" : "s"}\n`;
}
