/**
 * The per-minute series CloudTrail Insights are computed from (spec §8, decision 0019): for each
 * account, region and insight type, the count of calls per minute of eventTime per (eventSource,
 * eventName) — and per errorCode for ApiErrorRateInsight — with the same counts per attribution value
 * (caller ARN, user agent, error code), the detector's state per series, and the consumer's cursor.
 * The embedded backend is SQLite, the cluster one PostgreSQL; one suite checks both.
 */

export const INSIGHT_TYPES = ["ApiCallRateInsight", "ApiErrorRateInsight"] as const;
export type InsightType = (typeof INSIGHT_TYPES)[number];

export const ATTRIBUTES = ["userIdentityArn", "userAgent", "errorCode"] as const;
export type AttributeName = (typeof ATTRIBUTES)[number];

/** ListInsightsMetricData's periods (spec §8.3), in seconds. */
export const METRIC_PERIODS = [60, 300, 3600] as const;
export type MetricPeriod = (typeof METRIC_PERIODS)[number];

export const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** How long each period's points are kept (spec §8.3): 1-minute 15 days, 5-minute 63, 1-hour 90. */
export const RETENTION_MS: Readonly<Record<MetricPeriod, number>> = {
  60: 15 * DAY_MS,
  300: 63 * DAY_MS,
  3600: 90 * DAY_MS,
};

/** The events a series counts: management events, or data events (decision 0019, point 9). */
export type InsightCategory = "Management" | "Data";

export interface SeriesKey {
  readonly accountId: string;
  readonly region: string;
  readonly insightType: InsightType;
  readonly eventSource: string;
  readonly eventName: string;
  /** The error code of an ApiErrorRateInsight series; "" for ApiCallRateInsight. */
  readonly errorCode: string;
  /** `Data` for a series of data events; absent for management events (the keys stored before data Insights). */
  readonly eventCategory?: "Data";
}

export function categoryOfKey(key: Pick<SeriesKey, "eventCategory">): InsightCategory {
  return key.eventCategory ?? "Management";
}

/** What an Insight selector enables: a type on a category of events ("Data/ApiCallRateInsight"). */
export function insightKind(category: InsightCategory, insightType: InsightType): string {
  return `${category}/${insightType}`;
}

/**
 * The one text naming a series in every table: unambiguous, as a JSON array. A data-event series has
 * a seventh element, so it never meets the management series of the same API and the ids of
 * management series stored before data Insights stay what they were.
 */
export function seriesId(key: SeriesKey): string {
  const { accountId, region, insightType, eventSource, eventName, errorCode } = key;
  const id = [accountId, region, insightType, eventSource, eventName, errorCode];
  return JSON.stringify(key.eventCategory === "Data" ? [...id, "Data"] : id);
}

export interface AttributionCount {
  readonly attribute: AttributeName;
  readonly value: string;
  readonly count: number;
}

/** Calls of one series in one minute (`minuteMs` the minute's start), and who made them. */
export interface MinuteCount {
  readonly key: SeriesKey;
  readonly minuteMs: number;
  readonly count: number;
  readonly attributions: readonly AttributionCount[];
}

/** What the consumer saw of an account and region: how far eventTime went, and since when. */
export interface RegionActivity {
  readonly accountId: string;
  readonly region: string;
  /** The newest eventTime seen (ms). */
  readonly newestEventMs: number;
  /** The oldest eventTime seen (ms): a minute is judged only once a whole baseline lies after it. */
  readonly oldestEventMs: number;
  /** Wall-clock time the last record of this account and region was handled (ms). */
  readonly lastArrivalMs: number;
}

/** An anomaly under way (decision 0019): what its Start said and what its End needs. */
export interface OpenAnomaly {
  readonly startMs: number;
  /** The start of the last minute over the threshold. */
  readonly lastHotMs: number;
  /** Calls from the start minute to the last hot minute, both included. */
  readonly callsToLastHot: number;
  /** Calls since the start minute, judged minutes only. */
  readonly callsSoFar: number;
  readonly baselineAverage: number;
  readonly sharedEventId: string;
  /** Whether its Start was recorded (some trail selected the type then): only then is its End. */
  readonly reported: boolean;
}

export interface SeriesState {
  readonly key: SeriesKey;
  /** Start of the last minute judged; a new series starts one minute before its first data. */
  readonly judgedThroughMs: number;
  /** Start of the newest minute with calls. */
  readonly lastDataMs: number;
  readonly anomaly?: OpenAnomaly;
}

export interface CountsBatch {
  /** The journal seq the batch ends at: the cursor afterwards. */
  readonly toSeq: number;
  readonly counts: readonly MinuteCount[];
  readonly regions: readonly RegionActivity[];
}

/** Lease fencing (cluster mode): writes under a token lower than one that claimed the store are refused. */
export interface InsightFencing {
  readonly fencingToken?: number;
}

export interface MetricPoint {
  readonly timeMs: number;
  readonly count: number;
}

export interface InsightSeriesStore {
  /** Highest journal seq whose counts are in; 0 at first. */
  cursor(): Promise<number>;
  /** Records `fencingToken` as the writer's (refusing lower ones from now on) and returns the cursor. */
  claim(fencingToken: number): Promise<number>;
  /**
   * In one transaction: adds the counts to the 1-, 5- and 60-minute points and the per-minute
   * attributions, merges the regions' activity, creates the state of each new series, and moves the
   * cursor to `toSeq`. A batch ending at or below the cursor changes nothing (a replay): false.
   */
  addCounts(batch: CountsBatch, fencing?: InsightFencing): Promise<boolean>;
  /** Every account and region seen. */
  regions(): Promise<RegionActivity[]>;
  /**
   * States of the account's series in `region` that have something to judge up to `frontierMs`: not
   * judged that far, and calls after their last judged minute or an anomaly under way.
   */
  pendingSeries(accountId: string, region: string, frontierMs: number): Promise<SeriesState[]>;
  /** Replaces the states' judged minute and anomaly (the series must exist). */
  saveStates(states: readonly SeriesState[], fencing?: InsightFencing): Promise<void>;
  /** A series' 1-minute counts in [fromMs, toMs), oldest first; minutes without calls are absent. */
  minuteCounts(key: SeriesKey, fromMs: number, toMs: number): Promise<MetricPoint[]>;
  /** A series' calls in [fromMs, toMs) per attribute and value. */
  attributionTotals(key: SeriesKey, fromMs: number, toMs: number): Promise<AttributionCount[]>;
  /** A series' points of `period` in [fromMs, toMs), oldest first, at most `limit`. */
  points(key: SeriesKey, period: MetricPeriod, fromMs: number, toMs: number, limit: number): Promise<MetricPoint[]>;
  /** Deletes points past their retention (RETENTION_MS) and series idle for 90 days. */
  prune(nowMs: number): Promise<void>;
  close(): Promise<void>;
}

/** A write under a fencing token lower than the one that claimed the store: nothing was written. */
export class InsightsFencedOffError extends Error {
  override readonly name = "InsightsFencedOffError";
  constructor(readonly fencingToken: number | undefined) {
    super(
      fencingToken === undefined
        ? "The Insights series are claimed by a leased consumer; an unfenced write is refused."
        : `The Insights series are claimed under a higher token than ${fencingToken}: the lease passed to another node.`,
    );
  }
}

/** The start of the period of `period` seconds holding `ms`. */
export function periodStart(ms: number, period: MetricPeriod): number {
  const width = period * 1000;
  return Math.floor(ms / width) * width;
}

export function closedStoreError(): Error {
  return new Error("The Insights series store is closed.");
}
