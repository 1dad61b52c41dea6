import type Database from "better-sqlite3";
import { openSchemaDatabase } from "../../lib/sqlite-database.js";
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

const SCHEMA_VERSION = 1;
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS insight_points (
    series  TEXT NOT NULL,
    period  INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (series, period, time_ms)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS insight_attributions (
    series    TEXT NOT NULL,
    minute_ms INTEGER NOT NULL,
    attribute TEXT NOT NULL,
    value     TEXT NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (series, minute_ms, attribute, value)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS insight_series (
    series            TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL,
    region            TEXT NOT NULL,
    key_json          TEXT NOT NULL,
    judged            INTEGER NOT NULL,
    judged_through_ms INTEGER NOT NULL,
    last_data_ms      INTEGER NOT NULL,
    anomaly_json      TEXT
  ) STRICT;
  CREATE INDEX IF NOT EXISTS insight_series_by_region ON insight_series (account_id, region);
  CREATE TABLE IF NOT EXISTS insight_regions (
    account_id      TEXT NOT NULL,
    region          TEXT NOT NULL,
    newest_event_ms INTEGER NOT NULL,
    oldest_event_ms INTEGER NOT NULL,
    last_arrival_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, region)
  ) STRICT;
  CREATE TABLE IF NOT EXISTS insight_cursor (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    seq           INTEGER NOT NULL,
    fencing_token INTEGER
  ) STRICT;
  INSERT OR IGNORE INTO insight_cursor (id, seq, fencing_token) VALUES (1, 0, NULL);
`;

const IDLE_SERIES_MS = RETENTION_MS[3600];

/**
 * Opens (creating) the embedded Insights series, `<data-dir>/insights.db`. Counts and the cursor
 * commit in one transaction, so a crash loses a batch whole and the runner hands it over again.
 *
 * @example const series = openSqliteInsightSeriesStore(join(dataDir, "insights.db"));
 */
export function openSqliteInsightSeriesStore(path: string): InsightSeriesStore {
  // The counts are derived from the journal and replayed from the cursor after a crash: NORMAL suffices.
  const db = openSchemaDatabase(path, { schema: SCHEMA, schemaVersion: SCHEMA_VERSION, synchronous: "NORMAL" });
  return new SqliteInsightSeriesStore(db);
}

class SqliteInsightSeriesStore implements InsightSeriesStore {
  private closed = false;
  private readonly cursorRow: Database.Statement<[], { seq: number; fencing_token: number | null }>;

  constructor(private readonly db: Database.Database) {
    this.cursorRow = db.prepare("SELECT seq, fencing_token FROM insight_cursor WHERE id = 1");
  }

  async cursor(): Promise<number> {
    this.open();
    return this.cursorRow.get()!.seq;
  }

  async claim(fencingToken: number): Promise<number> {
    this.open();
    return this.db.transaction(() => {
      this.checkFence({ fencingToken });
      this.db.prepare("UPDATE insight_cursor SET fencing_token = ? WHERE id = 1").run(fencingToken);
      return this.cursorRow.get()!.seq;
    })();
  }

  async addCounts(batch: CountsBatch, fencing: InsightFencing = {}): Promise<boolean> {
    this.open();
    const { points, attributions, series } = incrementsOf(batch);
    return this.db.transaction(() => {
      this.checkFence(fencing);
      if (batch.toSeq <= this.cursorRow.get()!.seq) return false;
      const addPoint = this.db.prepare(
        `INSERT INTO insight_points (series, period, time_ms, count) VALUES (?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET count = count + excluded.count`,
      );
      for (const p of points) addPoint.run(p.series, p.period, p.timeMs, p.count);
      const addAttribution = this.db.prepare(
        `INSERT INTO insight_attributions (series, minute_ms, attribute, value, count) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET count = count + excluded.count`,
      );
      for (const a of attributions) addAttribution.run(a.series, a.minuteMs, a.attribute, a.value, a.count);
      // A series not judged yet starts before its earliest minute, however late that minute arrived.
      const addSeries = this.db.prepare(
        `INSERT INTO insight_series (series, account_id, region, key_json, judged, judged_through_ms, last_data_ms)
         VALUES (?, ?, ?, ?, 0, ?, ?)
         ON CONFLICT DO UPDATE SET last_data_ms = max(last_data_ms, excluded.last_data_ms),
           judged_through_ms = CASE WHEN judged = 0 THEN min(judged_through_ms, excluded.judged_through_ms)
                                    ELSE judged_through_ms END`,
      );
      for (const s of series)
        addSeries.run(
          s.series,
          s.key.accountId,
          s.key.region,
          JSON.stringify(s.key),
          firstJudgedThrough(s),
          s.lastMinuteMs,
        );
      const addRegion = this.db.prepare(
        `INSERT INTO insight_regions (account_id, region, newest_event_ms, oldest_event_ms, last_arrival_ms)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET newest_event_ms = max(newest_event_ms, excluded.newest_event_ms),
           oldest_event_ms = min(oldest_event_ms, excluded.oldest_event_ms),
           last_arrival_ms = max(last_arrival_ms, excluded.last_arrival_ms)`,
      );
      for (const r of batch.regions)
        addRegion.run(r.accountId, r.region, r.newestEventMs, r.oldestEventMs, r.lastArrivalMs);
      this.db.prepare("UPDATE insight_cursor SET seq = ? WHERE id = 1").run(batch.toSeq);
      return true;
    })();
  }

  async regions(): Promise<RegionActivity[]> {
    this.open();
    const rows = this.db
      .prepare<
        [],
        {
          account_id: string;
          region: string;
          newest_event_ms: number;
          oldest_event_ms: number;
          last_arrival_ms: number;
        }
      >("SELECT * FROM insight_regions ORDER BY account_id, region")
      .all();
    return rows.map((row) => ({
      accountId: row.account_id,
      region: row.region,
      newestEventMs: row.newest_event_ms,
      oldestEventMs: row.oldest_event_ms,
      lastArrivalMs: row.last_arrival_ms,
    }));
  }

  async pendingSeries(accountId: string, region: string, frontierMs: number): Promise<SeriesState[]> {
    this.open();
    return this.db
      .prepare<[string, string, number], SeriesRow>(
        `SELECT key_json, judged_through_ms, last_data_ms, anomaly_json FROM insight_series
         WHERE account_id = ? AND region = ? AND judged_through_ms < ?
           AND (last_data_ms > judged_through_ms OR anomaly_json IS NOT NULL)
         ORDER BY series`,
      )
      .all(accountId, region, frontierMs)
      .map(stateOfRow);
  }

  async saveStates(states: readonly SeriesState[], fencing: InsightFencing = {}): Promise<void> {
    this.open();
    this.db.transaction(() => {
      this.checkFence(fencing);
      const save = this.db.prepare(
        "UPDATE insight_series SET judged = 1, judged_through_ms = ?, anomaly_json = ? WHERE series = ?",
      );
      for (const state of states)
        save.run(
          state.judgedThroughMs,
          state.anomaly === undefined ? null : JSON.stringify(state.anomaly),
          seriesId(state.key),
        );
    })();
  }

  async minuteCounts(key: SeriesKey, fromMs: number, toMs: number): Promise<MetricPoint[]> {
    return this.points(key, 60, fromMs, toMs, Number.MAX_SAFE_INTEGER);
  }

  async attributionTotals(key: SeriesKey, fromMs: number, toMs: number): Promise<AttributionCount[]> {
    this.open();
    return this.db
      .prepare<[string, number, number], AttributionCount>(
        `SELECT attribute, value, sum(count) AS count FROM insight_attributions
         WHERE series = ? AND minute_ms >= ? AND minute_ms < ? GROUP BY attribute, value ORDER BY attribute, value`,
      )
      .all(seriesId(key), fromMs, toMs);
  }

  async points(
    key: SeriesKey,
    period: MetricPeriod,
    fromMs: number,
    toMs: number,
    limit: number,
  ): Promise<MetricPoint[]> {
    this.open();
    return this.db
      .prepare<[string, number, number, number, number], MetricPoint>(
        `SELECT time_ms AS timeMs, count FROM insight_points
         WHERE series = ? AND period = ? AND time_ms >= ? AND time_ms < ? ORDER BY time_ms LIMIT ?`,
      )
      .all(seriesId(key), period, fromMs, toMs, limit);
  }

  async prune(nowMs: number): Promise<void> {
    this.open();
    this.db.transaction(() => {
      const points = this.db.prepare("DELETE FROM insight_points WHERE period = ? AND time_ms < ?");
      for (const [period, ms] of Object.entries(RETENTION_MS)) points.run(Number(period), nowMs - ms);
      this.db.prepare("DELETE FROM insight_attributions WHERE minute_ms < ?").run(nowMs - RETENTION_MS[60]);
      this.db
        .prepare("DELETE FROM insight_series WHERE last_data_ms < ? AND anomaly_json IS NULL")
        .run(nowMs - IDLE_SERIES_MS);
    })();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  /** Inside a transaction: refuses a write under a token lower than the claimed one (or unfenced once claimed). */
  private checkFence(fencing: InsightFencing): void {
    const claimed = this.cursorRow.get()!.fencing_token;
    if (claimed === null) return;
    if (fencing.fencingToken === undefined || fencing.fencingToken < claimed)
      throw new InsightsFencedOffError(fencing.fencingToken);
  }

  private open(): void {
    if (this.closed) throw closedStoreError();
  }
}
