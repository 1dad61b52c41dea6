/**
 * The Insights anomaly model (decision 0019), pure: a series' closed minutes are judged in order
 * against the baseline of the `baselineMinutes` before each one (every minute counts, those without
 * calls as 0). A minute is hot when its calls exceed max(mean + k·σ, minimumRate) and the account's
 * history covers the whole baseline; the first hot minute starts an anomaly, `quietMinutes` minutes
 * in a row that are not hot end it.
 */
import { MINUTE_MS, type MetricPoint, type OpenAnomaly } from "../../stores/insights/index.js";

export interface DetectorSettings {
  readonly baselineMinutes: number;
  /** k: how many standard deviations above the baseline mean a minute must be. */
  readonly thresholdSigma: number;
  /** Calls per minute a minute must exceed whatever its baseline (no Insight for a handful of calls). */
  readonly minimumRate: number;
  /** Minutes in a row not over the threshold that end an anomaly. */
  readonly quietMinutes: number;
}

/** Where a series' judging stands: the last minute judged and the anomaly under way, if any. */
export interface SeriesProgress {
  readonly judgedThroughMs: number;
  readonly anomaly?: OpenAnomaly;
}

export type Detection =
  { readonly kind: "start"; readonly anomaly: OpenAnomaly } | { readonly kind: "end"; readonly anomaly: OpenAnomaly };

export interface JudgeInput {
  readonly progress: SeriesProgress;
  /**
   * The series' 1-minute counts, oldest first, covering at least
   * [progress.judgedThroughMs + 1 min − baseline, frontierMs] (judgeWindow).
   */
  readonly counts: readonly MetricPoint[];
  /** Start of the last closed minute: judging stops there. */
  readonly frontierMs: number;
  /** The oldest eventTime of the series' account and region: a minute needs a whole baseline after it. */
  readonly historyStartMs: number;
  readonly settings: DetectorSettings;
  /** The sharedEventID of an anomaly starting at a minute (deterministic: a replay gives the same). */
  readonly sharedEventId: (startMs: number) => string;
  /** Whether an anomaly starting now is recorded (OpenAnomaly.reported). */
  readonly reportStarts: boolean;
}

/** The threshold a minute's calls must exceed, from its baseline's mean and standard deviation. */
export function thresholdOf(mean: number, sd: number, settings: DetectorSettings): number {
  return Math.max(mean + settings.thresholdSigma * sd, settings.minimumRate);
}

/** The counts judging up to `frontierMs` needs: [from, to) for InsightSeriesStore.minuteCounts. */
export function judgeWindow(
  progress: SeriesProgress,
  frontierMs: number,
  settings: DetectorSettings,
): { fromMs: number; toMs: number } {
  return {
    fromMs: progress.judgedThroughMs + MINUTE_MS - settings.baselineMinutes * MINUTE_MS,
    toMs: frontierMs + MINUTE_MS,
  };
}

/** The sum and sum of squares of the counts in [m − baseline, m), kept as m moves forward. */
class SlidingBaseline {
  private lo = 0;
  private hi = 0;
  private sum = 0;
  private squares = 0;

  constructor(
    private readonly counts: readonly MetricPoint[],
    private readonly widthMs: number,
  ) {}

  /** Mean and standard deviation over the window before `minuteMs` (minutes without calls are 0). */
  at(minuteMs: number): { mean: number; sd: number } {
    const { counts } = this;
    while (this.hi < counts.length && counts[this.hi]!.timeMs < minuteMs) {
      this.sum += counts[this.hi]!.count;
      this.squares += counts[this.hi]!.count ** 2;
      this.hi++;
    }
    while (this.lo < this.hi && counts[this.lo]!.timeMs < minuteMs - this.widthMs) {
      this.sum -= counts[this.lo]!.count;
      this.squares -= counts[this.lo]!.count ** 2;
      this.lo++;
    }
    const n = this.widthMs / MINUTE_MS;
    const mean = this.sum / n;
    return { mean, sd: Math.sqrt(Math.max(0, this.squares / n - mean * mean)) };
  }
}

/**
 * Judges the series' minutes after `progress.judgedThroughMs` up to `frontierMs`: minutes with calls,
 * and every minute while an anomaly is under way. Returns the new progress (judged through the
 * frontier) and the starts and ends found, in order.
 */
export function judgeSeries(input: JudgeInput): { progress: SeriesProgress; detections: Detection[] } {
  const { counts, frontierMs, settings } = input;
  const baselineMs = settings.baselineMinutes * MINUTE_MS;
  const baseline = new SlidingBaseline(counts, baselineMs);
  const detections: Detection[] = [];
  let anomaly = input.progress.anomaly;
  let next = 0;
  let minute = input.progress.judgedThroughMs + MINUTE_MS;
  while (minute <= frontierMs) {
    while (next < counts.length && counts[next]!.timeMs < minute) next++;
    if (anomaly === undefined) {
      // Nothing under way: only a minute with calls can start something.
      if (next >= counts.length || counts[next]!.timeMs > frontierMs) break;
      minute = counts[next]!.timeMs;
    }
    const calls = counts[next]?.timeMs === minute ? counts[next]!.count : 0;
    const { mean, sd } = baseline.at(minute);
    const hot = input.historyStartMs <= minute - baselineMs && calls > thresholdOf(mean, sd, settings);
    if (anomaly === undefined) {
      if (hot) {
        anomaly = {
          startMs: minute,
          lastHotMs: minute,
          callsToLastHot: calls,
          callsSoFar: calls,
          baselineAverage: mean,
          sharedEventId: input.sharedEventId(minute),
          reported: input.reportStarts,
        };
        detections.push({ kind: "start", anomaly });
      }
    } else {
      const callsSoFar = anomaly.callsSoFar + calls;
      if (hot) anomaly = { ...anomaly, lastHotMs: minute, callsToLastHot: callsSoFar, callsSoFar };
      else anomaly = { ...anomaly, callsSoFar };
      if (!hot && (minute - anomaly.lastHotMs) / MINUTE_MS >= settings.quietMinutes) {
        detections.push({ kind: "end", anomaly });
        anomaly = undefined;
      }
    }
    minute += MINUTE_MS;
  }
  const judgedThroughMs = Math.max(input.progress.judgedThroughMs, frontierMs);
  return { progress: anomaly === undefined ? { judgedThroughMs } : { judgedThroughMs, anomaly }, detections };
}

/** Minutes from an anomaly's start to the end of its last hot minute. */
export function durationMinutes(anomaly: OpenAnomaly): number {
  return (anomaly.lastHotMs - anomaly.startMs) / MINUTE_MS + 1;
}
