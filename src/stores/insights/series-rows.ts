/** Rows of the Insights tables as both backends read them, and what a batch adds to them. */
import {
  MINUTE_MS,
  METRIC_PERIODS,
  periodStart,
  seriesId,
  type AttributeName,
  type CountsBatch,
  type MetricPeriod,
  type OpenAnomaly,
  type SeriesKey,
  type SeriesState,
} from "./insight-series-store.js";

export interface SeriesRow {
  key_json: string;
  judged_through_ms: number | string;
  last_data_ms: number | string;
  anomaly_json: string | null;
}

export function stateOfRow(row: SeriesRow): SeriesState {
  const anomaly = row.anomaly_json === null ? undefined : (JSON.parse(row.anomaly_json) as OpenAnomaly);
  return {
    key: JSON.parse(row.key_json) as SeriesKey,
    judgedThroughMs: Number(row.judged_through_ms),
    lastDataMs: Number(row.last_data_ms),
    ...(anomaly !== undefined ? { anomaly } : {}),
  };
}

export interface PointIncrement {
  readonly series: string;
  readonly period: MetricPeriod;
  readonly timeMs: number;
  readonly count: number;
}

export interface AttributionIncrement {
  readonly series: string;
  readonly minuteMs: number;
  readonly attribute: AttributeName;
  readonly value: string;
  readonly count: number;
}

export interface SeriesSeen {
  readonly series: string;
  readonly key: SeriesKey;
  readonly firstMinuteMs: number;
  readonly lastMinuteMs: number;
}

/** A batch's counts as increments per table row, each row once (summed), so one upsert per row. */
export function incrementsOf(batch: CountsBatch): {
  points: PointIncrement[];
  attributions: AttributionIncrement[];
  series: SeriesSeen[];
} {
  const points = new Map<string, PointIncrement>();
  const attributions = new Map<string, AttributionIncrement>();
  const series = new Map<string, SeriesSeen>();
  for (const minute of batch.counts) {
    const id = seriesId(minute.key);
    for (const period of METRIC_PERIODS) {
      const timeMs = periodStart(minute.minuteMs, period);
      const rowKey = `${id}\n${period}\n${timeMs}`;
      const before = points.get(rowKey)?.count ?? 0;
      points.set(rowKey, { series: id, period, timeMs, count: before + minute.count });
    }
    for (const { attribute, value, count } of minute.attributions) {
      const rowKey = JSON.stringify([id, minute.minuteMs, attribute, value]);
      const before = attributions.get(rowKey)?.count ?? 0;
      attributions.set(rowKey, { series: id, minuteMs: minute.minuteMs, attribute, value, count: before + count });
    }
    const seen = series.get(id);
    series.set(id, {
      series: id,
      key: minute.key,
      firstMinuteMs: Math.min(seen?.firstMinuteMs ?? Infinity, minute.minuteMs),
      lastMinuteMs: Math.max(seen?.lastMinuteMs ?? -Infinity, minute.minuteMs),
    });
  }
  return { points: [...points.values()], attributions: [...attributions.values()], series: [...series.values()] };
}

/** A new series is judged from the minute before its first calls. */
export function firstJudgedThrough(seen: SeriesSeen): number {
  return seen.firstMinuteMs - MINUTE_MS;
}
