import { sqlTimestamp, type LakeTable } from "./lake-query.js";

/**
 * The dashboard's Lake figures in four queries run side by side, each one scan: the cheap columns'
 * aggregates as GROUPING SETS (buckets, event names, sources, totals, root calls), the callers
 * (grouped on the raw identity fields first, so the name is worked out once per caller, not per
 * event), the source IPs (many distinct values: their own hash table) and the console sign-ins
 * (only ConsoleLogin rows read their maps). Ten queries, one per widget, took seconds at 90 days
 * (issue #16; bench/console-dashboard.ts); one query with every set took longer still, its
 * high-cardinality sets holding up the cheap ones.
 */

export type Unit = "minute" | "hour" | "day";

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
export const STEP_MS: Record<Unit, number> = { minute: MINUTE_MS, hour: HOUR_MS, day: DAY_MS };
const TOP_N = 10;

/** Buckets from the range: minutes up to 3 hours, hours up to a week, then days (at most ~180 points). */
export function unitFor(start: Date, end: Date): Unit {
  const span = end.getTime() - start.getTime();
  return span <= 3 * HOUR_MS ? "minute" : span <= 7 * DAY_MS ? "hour" : "day";
}

const HAS_ERROR = "errorCode IS NOT NULL AND errorCode <> ''";
/**
 * Who made the call, as Event history names users: the IAM user or the role behind a session, else
 * the last part of the ARN (`root`, a federated name), so `user/alice` and `alice` count as one.
 */
const PRINCIPAL =
  "COALESCE(NULLIF(userName, ''), NULLIF(issuerName, ''), NULLIF(regexp_extract(arn, '[^/:]+$'), ''), NULLIF(principalId, ''))";
/** AccessDenied, Client.UnauthorizedOperation and the like: a caller refused by a policy. */
const DENIED = "(errorCode LIKE '%AccessDenied%' OR errorCode LIKE '%Unauthorized%' OR errorCode LIKE '%Forbidden%')";

const flag = (test: string): string => `SUM(CASE WHEN ${test} THEN 1 ELSE 0 END)`;

export type QueryId = "overview" | "principals" | "sourceIps" | "signIns";

/** Top N by each measure within each `widget` of `rows` (a subquery with widget, k and the measures). */
function ranked(rows: string, measures: readonly string[], keep: string): string {
  const windows = measures
    .map((measure) => `row_number() OVER (PARTITION BY widget ORDER BY ${measure} DESC, k) AS by_${measure}`)
    .join(", ");
  return (
    `SELECT * FROM (SELECT *, ${windows} FROM (${rows}) AS s WHERE k IS NOT NULL OR widget = 'totals') AS t ` +
    `WHERE ${keep}`
  );
}

export function dashboardQueries(storeId: string, start: Date, end: Date): Record<QueryId, string> {
  const unit = unitFor(start, end);
  const from = `FROM ${storeId} WHERE eventTime >= '${sqlTimestamp(start)}' AND eventTime < '${sqlTimestamp(end)}'`;
  const overviewRows =
    `SELECT CASE WHEN GROUPING(bucket) = 0 THEN 'bucket' WHEN GROUPING(eventName) = 0 THEN 'eventName' ` +
    `WHEN GROUPING(eventSource) = 0 THEN 'eventSource' ELSE 'totals' END AS widget, ` +
    `COALESCE(CAST(bucket AS VARCHAR), eventName, eventSource) AS k, COUNT(*) AS n, ${flag(HAS_ERROR)} AS errors, ` +
    `${flag("rootCall")} AS root FROM (SELECT date_trunc('${unit}', eventTime) AS bucket, eventName, eventSource, ` +
    `errorCode, userIdentity.type = 'Root' AS rootCall ${from}) AS r ` +
    `GROUP BY GROUPING SETS ((bucket), (eventName), (eventSource), ())`;
  const callers =
    `SELECT userIdentity.userName AS userName, userIdentity.sessionContext.sessionIssuer.userName AS issuerName, ` +
    `userIdentity.arn AS arn, userIdentity.principalId AS principalId, COUNT(*) AS n, ${flag(DENIED)} AS denied ` +
    `${from} GROUP BY 1, 2, 3, 4`;
  const principalRows =
    `SELECT 'principal' AS widget, ${PRINCIPAL} AS k, SUM(n) AS n, SUM(denied) AS denied ` +
    `FROM (${callers}) AS c GROUP BY 2`;
  return {
    overview: ranked(
      overviewRows,
      ["n", "root"],
      `widget IN ('totals', 'bucket') OR by_n <= ${TOP_N} OR (widget = 'eventName' AND by_root <= ${TOP_N} AND root > 0)`,
    ),
    principals: ranked(principalRows, ["n", "denied"], `by_n <= ${TOP_N} OR (by_denied <= ${TOP_N} AND denied > 0)`),
    sourceIps:
      `SELECT sourceIPAddress, COUNT(*) AS n ${from} AND sourceIPAddress IS NOT NULL AND sourceIPAddress <> '' ` +
      `GROUP BY 1 ORDER BY n DESC, 1 LIMIT ${TOP_N}`,
    signIns:
      `SELECT CASE WHEN responseElements['ConsoleLogin'] = 'Failure' THEN 'Failed' ` +
      `WHEN additionalEventData['MFAUsed'] = 'Yes' THEN 'With MFA' ELSE 'Without MFA' END AS signIn, COUNT(*) AS n ` +
      `${from} AND eventName = 'ConsoleLogin' GROUP BY 1 ORDER BY n DESC`,
  };
}

export interface Overview {
  readonly events: number;
  readonly errors: number;
  readonly rootCalls: number;
  /** Buckets with events: instant (epoch ms) → events and errors. */
  readonly buckets: Map<number, { events: number; errors: number }>;
  readonly eventNames: LakeTable;
  readonly sources: LakeTable;
  readonly root: LakeTable;
}

export interface Principals {
  readonly users: LakeTable;
  readonly deniedUsers: LakeTable;
}

/** A row by its columns' names (Lake answers them named). */
type Row = Record<string, string>;

function rowsOf(table: LakeTable): Row[] {
  return table.rows.map((cells) =>
    Object.fromEntries(table.columns.map((column, index) => [column, cells[index] ?? ""])),
  );
}

const count = (row: Row | undefined, column: string): number => Number(row?.[column] || 0);

/** Lake writes UTC times without a zone (`2026-01-01 00:00:00`): read them as UTC. */
function bucketInstant(text: string): number {
  return Date.parse(`${text.slice(0, 19).replace(" ", "T")}Z`);
}

function top(rows: readonly Row[], widget: string, measure: string, name: string): LakeTable {
  const chosen = rows
    .filter((row) => row["widget"] === widget && count(row, measure) > 0)
    .sort((a, b) => count(b, measure) - count(a, measure) || ((a["k"] ?? "") < (b["k"] ?? "") ? -1 : 1))
    .slice(0, TOP_N);
  return { columns: [name, measure], rows: chosen.map((row) => [row["k"] ?? "", String(count(row, measure))]) };
}

export function overviewOf(table: LakeTable): Overview {
  const rows = rowsOf(table);
  const totals = rows.find((row) => row["widget"] === "totals");
  const buckets = new Map(
    rows
      .filter((row) => row["widget"] === "bucket")
      .map(
        (row) => [bucketInstant(row["k"] ?? ""), { events: count(row, "n"), errors: count(row, "errors") }] as const,
      ),
  );
  return {
    events: count(totals, "n"),
    errors: count(totals, "errors"),
    rootCalls: count(totals, "root"),
    buckets,
    eventNames: top(rows, "eventName", "n", "eventName"),
    sources: top(rows, "eventSource", "n", "eventSource"),
    root: top(rows, "eventName", "root", "eventName"),
  };
}

export function principalsOf(table: LakeTable): Principals {
  const rows = rowsOf(table);
  return {
    users: top(rows, "principal", "n", "principal"),
    deniedUsers: top(rows, "principal", "denied", "principal"),
  };
}
