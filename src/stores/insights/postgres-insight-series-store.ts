import { migrate, safeInteger, type Migration, type PostgresDatabase, type Queryable } from "../postgres/index.js";
import {
  closedStoreError,
  InsightsFencedOffError,
  RETENTION_MS,
  seriesId,
  type AttributionCount,
  type CountsBatch,
  type InsightFencing,
  type InsightSeriesStore,
  type MetricPeriod,
  type MetricPoint,
  type RegionActivity,
  type SeriesKey,
  type SeriesState,
} from "./insight-series-store.js";
import { firstJudgedThrough, incrementsOf, stateOfRow, type SeriesRow } from "./series-rows.js";

/** The `insights` component's schema, shared with the import (insights-import.ts). */
export const INSIGHTS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "insights series",
    sql: `CREATE TABLE cairn_insight_points (
            series  TEXT NOT NULL,
            period  INTEGER NOT NULL,
            time_ms BIGINT NOT NULL,
            count   BIGINT NOT NULL,
            PRIMARY KEY (series, period, time_ms)
          );
          CREATE TABLE cairn_insight_attributions (
            series    TEXT NOT NULL,
            minute_ms BIGINT NOT NULL,
            attribute TEXT NOT NULL,
            value     TEXT NOT NULL,
            count     BIGINT NOT NULL,
            PRIMARY KEY (series, minute_ms, attribute, value)
          );
          CREATE INDEX cairn_insight_attributions_by_minute ON cairn_insight_attributions (minute_ms);
          CREATE TABLE cairn_insight_series (
            series            TEXT PRIMARY KEY,
            account_id        TEXT NOT NULL,
            region            TEXT NOT NULL,
            key_json          TEXT NOT NULL,
            judged            BOOLEAN NOT NULL,
            judged_through_ms BIGINT NOT NULL,
            last_data_ms      BIGINT NOT NULL,
            anomaly_json      TEXT
          );
          CREATE INDEX cairn_insight_series_by_region ON cairn_insight_series (account_id, region);
          CREATE TABLE cairn_insight_regions (
            account_id      TEXT NOT NULL,
            region          TEXT NOT NULL,
            newest_event_ms BIGINT NOT NULL,
            oldest_event_ms BIGINT NOT NULL,
            last_arrival_ms BIGINT NOT NULL,
            PRIMARY KEY (account_id, region)
          );
          CREATE TABLE cairn_insight_cursor (
            id            INTEGER PRIMARY KEY CHECK (id = 1),
            seq           BIGINT NOT NULL,
            fencing_token BIGINT
          );
          INSERT INTO cairn_insight_cursor (id, seq, fencing_token) VALUES (1, 0, NULL)`,
  },
];

const IDLE_SERIES_MS = RETENTION_MS[3600];

/**
 * Opens (migrating) the cluster Insights series on `db`. Counts and the cursor commit in one
 * transaction that first locks the cursor row and checks the fencing token, so of two nodes that
 * both think they hold the consumer's lease only the later holder writes. Closing leaves `db` open.
 *
 * @example const series = await openPostgresInsightSeriesStore(db);
 */
export async function openPostgresInsightSeriesStore(db: PostgresDatabase): Promise<InsightSeriesStore> {
  await migrate(db, "insights", INSIGHTS_MIGRATIONS);
  return new PostgresInsightSeriesStore(db);
}

class PostgresInsightSeriesStore implements InsightSeriesStore {
  private closed = false;

  constructor(private readonly db: PostgresDatabase) {}

  async cursor(): Promise<number> {
    this.open();
    const [row] = await this.db.query<{ seq: string }>("SELECT seq FROM cairn_insight_cursor WHERE id = 1");
    return safeInteger(row!.seq, "the Insights cursor");
  }

  async claim(fencingToken: number): Promise<number> {
    this.open();
    return this.db.transaction(async (tx) => {
      const seq = await lockedCursor(tx, { fencingToken });
      await tx.query("UPDATE cairn_insight_cursor SET fencing_token = $1 WHERE id = 1", [fencingToken]);
      return seq;
    });
  }

  async addCounts(batch: CountsBatch, fencing: InsightFencing = {}): Promise<boolean> {
    this.open();
    const { points, attributions, series } = incrementsOf(batch);
    return this.db.transaction(async (tx) => {
      if (batch.toSeq <= (await lockedCursor(tx, fencing))) return false;
      if (points.length > 0)
        await tx.query(
          `INSERT INTO cairn_insight_points (series, period, time_ms, count)
           SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[])
           ON CONFLICT (series, period, time_ms) DO UPDATE SET count = cairn_insight_points.count + excluded.count`,
          [
            points.map((p) => p.series),
            points.map((p) => p.period),
            points.map((p) => p.timeMs),
            points.map((p) => p.count),
          ],
        );
      if (attributions.length > 0)
        await tx.query(
          `INSERT INTO cairn_insight_attributions (series, minute_ms, attribute, value, count)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[])
           ON CONFLICT (series, minute_ms, attribute, value)
           DO UPDATE SET count = cairn_insight_attributions.count + excluded.count`,
          [
            attributions.map((a) => a.series),
            attributions.map((a) => a.minuteMs),
            attributions.map((a) => a.attribute),
            attributions.map((a) => a.value),
            attributions.map((a) => a.count),
          ],
        );
      for (const s of series)
        await tx.query(
          `INSERT INTO cairn_insight_series (series, account_id, region, key_json, judged, judged_through_ms, last_data_ms)
           VALUES ($1, $2, $3, $4, false, $5, $6)
           ON CONFLICT (series) DO UPDATE SET
             last_data_ms = GREATEST(cairn_insight_series.last_data_ms, excluded.last_data_ms),
             judged_through_ms = CASE WHEN cairn_insight_series.judged THEN cairn_insight_series.judged_through_ms
               ELSE LEAST(cairn_insight_series.judged_through_ms, excluded.judged_through_ms) END`,
          [s.series, s.key.accountId, s.key.region, JSON.stringify(s.key), firstJudgedThrough(s), s.lastMinuteMs],
        );
      for (const r of batch.regions)
        await tx.query(
          `INSERT INTO cairn_insight_regions (account_id, region, newest_event_ms, oldest_event_ms, last_arrival_ms)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (account_id, region) DO UPDATE SET
             newest_event_ms = GREATEST(cairn_insight_regions.newest_event_ms, excluded.newest_event_ms),
             oldest_event_ms = LEAST(cairn_insight_regions.oldest_event_ms, excluded.oldest_event_ms),
             last_arrival_ms = GREATEST(cairn_insight_regions.last_arrival_ms, excluded.last_arrival_ms)`,
          [r.accountId, r.region, r.newestEventMs, r.oldestEventMs, r.lastArrivalMs],
        );
      await tx.query("UPDATE cairn_insight_cursor SET seq = $1 WHERE id = 1", [batch.toSeq]);
      return true;
    });
  }

  async regions(): Promise<RegionActivity[]> {
    this.open();
    const rows = await this.db.query<Record<string, string>>(
      "SELECT * FROM cairn_insight_regions ORDER BY account_id, region",
    );
    return rows.map((row) => ({
      accountId: row["account_id"]!,
      region: row["region"]!,
      newestEventMs: Number(row["newest_event_ms"]),
      oldestEventMs: Number(row["oldest_event_ms"]),
      lastArrivalMs: Number(row["last_arrival_ms"]),
    }));
  }

  async pendingSeries(accountId: string, region: string, frontierMs: number): Promise<SeriesState[]> {
    this.open();
    const rows = await this.db.query<SeriesRow>(
      `SELECT key_json, judged_through_ms, last_data_ms, anomaly_json FROM cairn_insight_series
       WHERE account_id = $1 AND region = $2 AND judged_through_ms < $3
         AND (last_data_ms > judged_through_ms OR anomaly_json IS NOT NULL)
       ORDER BY series COLLATE "C"`,
      [accountId, region, frontierMs],
    );
    return rows.map(stateOfRow);
  }

  async saveStates(states: readonly SeriesState[], fencing: InsightFencing = {}): Promise<void> {
    this.open();
    await this.db.transaction(async (tx) => {
      await lockedCursor(tx, fencing);
      for (const state of states)
        await tx.query(
          "UPDATE cairn_insight_series SET judged = true, judged_through_ms = $1, anomaly_json = $2 WHERE series = $3",
          [
            state.judgedThroughMs,
            state.anomaly === undefined ? null : JSON.stringify(state.anomaly),
            seriesId(state.key),
          ],
        );
    });
  }

  async minuteCounts(key: SeriesKey, fromMs: number, toMs: number): Promise<MetricPoint[]> {
    return this.points(key, 60, fromMs, toMs, Number.MAX_SAFE_INTEGER);
  }

  async attributionTotals(key: SeriesKey, fromMs: number, toMs: number): Promise<AttributionCount[]> {
    this.open();
    const rows = await this.db.query<{ attribute: AttributionCount["attribute"]; value: string; count: string }>(
      `SELECT attribute, value, sum(count) AS count FROM cairn_insight_attributions
       WHERE series = $1 AND minute_ms >= $2 AND minute_ms < $3
       GROUP BY attribute, value ORDER BY attribute COLLATE "C", value COLLATE "C"`,
      [seriesId(key), fromMs, toMs],
    );
    return rows.map((row) => ({ attribute: row.attribute, value: row.value, count: Number(row.count) }));
  }

  async points(
    key: SeriesKey,
    period: MetricPeriod,
    fromMs: number,
    toMs: number,
    limit: number,
  ): Promise<MetricPoint[]> {
    this.open();
    const rows = await this.db.query<{ time_ms: string; count: string }>(
      `SELECT time_ms, count FROM cairn_insight_points
       WHERE series = $1 AND period = $2 AND time_ms >= $3 AND time_ms < $4 ORDER BY time_ms LIMIT $5`,
      [seriesId(key), period, fromMs, toMs, limit],
    );
    return rows.map((row) => ({ timeMs: Number(row.time_ms), count: Number(row.count) }));
  }

  async prune(nowMs: number): Promise<void> {
    this.open();
    await this.db.transaction(async (tx) => {
      for (const [period, ms] of Object.entries(RETENTION_MS))
        await tx.query("DELETE FROM cairn_insight_points WHERE period = $1 AND time_ms < $2", [
          Number(period),
          nowMs - ms,
        ]);
      await tx.query("DELETE FROM cairn_insight_attributions WHERE minute_ms < $1", [nowMs - RETENTION_MS[60]]);
      await tx.query("DELETE FROM cairn_insight_series WHERE last_data_ms < $1 AND anomaly_json IS NULL", [
        nowMs - IDLE_SERIES_MS,
      ]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private open(): void {
    if (this.closed) throw closedStoreError();
  }
}

/** Locks the cursor row for the transaction, refuses a stale token, and returns the cursor. */
async function lockedCursor(tx: Queryable, fencing: InsightFencing): Promise<number> {
  const [row] = await tx.query<{ seq: string; fencing_token: string | null }>(
    "SELECT seq, fencing_token FROM cairn_insight_cursor WHERE id = 1 FOR UPDATE",
  );
  const claimed = row!.fencing_token === null ? undefined : Number(row!.fencing_token);
  if (claimed !== undefined && (fencing.fencingToken === undefined || fencing.fencingToken < claimed))
    throw new InsightsFencedOffError(fencing.fencingToken);
  return safeInteger(row!.seq, "the Insights cursor");
}
