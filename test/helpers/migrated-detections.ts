import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { openPostgresDatabase } from "../../src/stores/postgres/index.js";
import { pollUntil } from "./poll.js";
import { recentRecords } from "./sample-records.js";
import {
  CLI,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "./server-process.js";
import { ingestCall, sendRaw } from "./signed-request.js";

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const WAIT = { timeoutMs: 90_000, intervalMs: 250 };
const RULE = `title: Migrated trail stopped
id: migrated-trail-stopped
level: high
logsource: {product: aws, service: cloudtrail}
detection:
  selection: {eventName: StopLogging}
  condition: selection
`;

/** `cairn <args>` against a server as the test admin. */
async function cairn(server: ServerProcess, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [CLI, ...args, "--endpoint-url", server.url, "--region", "us-east-1"],
    {
      env: {
        PATH: process.env["PATH"] ?? "",
        AWS_ACCESS_KEY_ID: admin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
      },
    },
  );
  return stdout;
}

/** `cairn sigma matches --json`: one match a line, oldest first. */
async function sigmaMatches(server: ServerProcess): Promise<Array<Record<string, unknown>>> {
  return (await cairn(server, ["sigma", "matches", "--json"]))
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Ingests `count` StopLogging calls of the test account; resolves their eventIDs. */
async function ingestStops(server: ServerProcess, count: number): Promise<string[]> {
  const records = recentRecords(count, { accountId: TEST_ACCOUNT_ID }).map((record) => ({
    ...record,
    eventName: "StopLogging",
    eventSource: "cloudtrail.amazonaws.com",
    eventID: randomUUID(),
  }));
  const response = await sendRaw(server.url, ingestCall(records, admin));
  assert.equal(response.status, 200, response.text);
  return records.map((record) => record.eventID);
}

/** On the embedded server: an account Sigma rule and two records it matches; resolves the matches as listed. */
export async function setUpDetections(server: ServerProcess, dir: string): Promise<Array<Record<string, unknown>>> {
  const ruleFile = join(dir, "migrated-rule.yml");
  writeFileSync(ruleFile, RULE);
  await cairn(server, ["sigma", "add", ruleFile]);
  await ingestStops(server, 2);
  return pollUntil(
    async () => {
      const matches = await sigmaMatches(server);
      return matches.length === 2 && matches;
    },
    { ...WAIT, message: "the embedded server's Sigma matches" },
  );
}

function sqliteRows(path: string, sql: string): unknown[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

/** PostgreSQL's BIGINTs come back as text, booleans as booleans: compare as plain numbers and 0/1. */
function plain(rows: readonly unknown[]): unknown[] {
  return rows.map((row) =>
    Object.fromEntries(
      Object.entries(row as Record<string, unknown>).map(([key, value]) => [
        key,
        typeof value === "boolean"
          ? Number(value)
          : typeof value === "string" && /^-?\d+$/.test(value)
            ? Number(value)
            : value,
      ]),
    ),
  );
}

/**
 * Right after the migration, before any node ran: the cluster holds the Sigma store and the Insights
 * series as the data dir did, row for row: rules, matches with their ids, each consumer's cursor, every
 * series with its detector state, every count and region.
 */
export async function checkMigratedDetectionState(dataDir: string, databaseUrl: string): Promise<void> {
  const sigma = join(dataDir, "sigma.db");
  const insights = join(dataDir, "insights.db");
  const db = openPostgresDatabase({ url: databaseUrl });
  try {
    const same = async (file: string, embedded: string, cluster: string, what: string) => {
      const want = plain(sqliteRows(file, embedded));
      assert.ok(want.length > 0, `the data dir has ${what}`);
      assert.deepEqual(plain(await db.query(cluster)), want, what);
    };
    await same(
      sigma,
      "SELECT value FROM sigma_state WHERE name = 'cursor'",
      "SELECT value::int AS value FROM cairn_sigma_state WHERE name = 'cursor'",
      "the Sigma cursor",
    );
    const ruleColumns = "account_id, id, title, level, yaml, added_by, added_at_ms";
    await same(
      sigma,
      `SELECT ${ruleColumns} FROM sigma_rules ORDER BY id`,
      `SELECT ${ruleColumns} FROM cairn_sigma_rules ORDER BY id`,
      "the Sigma rules",
    );
    const matchColumns = "id, account_id, rule_id, kind, event_id, event_time_ms, events, seq, match_key";
    await same(
      sigma,
      `SELECT ${matchColumns} FROM sigma_matches ORDER BY id`,
      `SELECT ${matchColumns} FROM cairn_sigma_matches ORDER BY id`,
      "the Sigma matches, ids kept",
    );
    await same(
      insights,
      "SELECT seq FROM insight_cursor",
      "SELECT seq FROM cairn_insight_cursor",
      "the Insights cursor",
    );
    const seriesColumns = "series, account_id, region, key_json, judged, judged_through_ms, last_data_ms, anomaly_json";
    await same(
      insights,
      `SELECT ${seriesColumns} FROM insight_series ORDER BY series`,
      `SELECT ${seriesColumns} FROM cairn_insight_series ORDER BY series`,
      "the Insights series and detector state",
    );
    const pointColumns = "series, period, time_ms, count";
    await same(
      insights,
      `SELECT ${pointColumns} FROM insight_points ORDER BY series, period, time_ms`,
      `SELECT ${pointColumns} FROM cairn_insight_points ORDER BY series, period, time_ms`,
      "the Insights counts",
    );
    const regionColumns = "account_id, region, newest_event_ms, oldest_event_ms, last_arrival_ms";
    await same(
      insights,
      `SELECT ${regionColumns} FROM insight_regions ORDER BY account_id, region`,
      `SELECT ${regionColumns} FROM cairn_insight_regions ORDER BY account_id, region`,
      "the Insights regions",
    );
  } finally {
    await db.close();
  }
}

/**
 * On a cluster node: the moved matches are listed as the embedded server listed them (ids and all),
 * and the node resumes after the moved cursor: a new StopLogging is matched once, after them, and the
 * moved records are not matched again.
 */
export async function checkMigratedDetections(
  node: ServerProcess,
  embedded: ReadonlyArray<Record<string, unknown>>,
): Promise<void> {
  assert.deepEqual(await sigmaMatches(node), embedded);
  const [fresh] = await ingestStops(node, 1);
  const after = await pollUntil(
    async () => {
      const matches = await sigmaMatches(node);
      return matches.some((match) => match["eventID"] === fresh) && matches;
    },
    { ...WAIT, message: "the node to match a new record" },
  );
  assert.deepEqual(after.slice(0, embedded.length), embedded);
  assert.equal(after.length, embedded.length + 1, "the moved records were not matched again");
}
