/**
 * The Insights consumer (decision 0019): counts each batch into the series with its cursor, then
 * judges the minutes the batch closed (by eventTime), and on a timer the minutes the wall clock
 * closed; Start and End records go into the journal with dedup keys before the judged state is
 * saved, so judging again after a crash appends nothing twice.
 */
import type { Journal, JournalAppendItem, JournalEntry } from "../../journal/journal.js";
import type { Clock } from "../../lib/clock.js";
import {
  categoryOfKey,
  insightKind,
  MINUTE_MS,
  type InsightFencing,
  type InsightSeriesStore,
  type RegionActivity,
  type SeriesState,
} from "../../stores/insights/index.js";
import type { Consumer } from "../consumer.js";
import { judgeSeries, judgeWindow, type Detection, type DetectorSettings } from "./detector.js";
import { insightRecordItem, insightWindow, sharedEventIdOf, type InsightState } from "./insight-record.js";
import type { CountInputs } from "./count-inputs.js";
import { countBatch } from "./series-counter.js";

export interface InsightsSettings extends DetectorSettings {
  readonly detectionDelayMs: number;
}

export interface InsightsConsumerOptions {
  readonly store: InsightSeriesStore;
  readonly journal: Pick<Journal, "append" | "headSeq">;
  readonly clock: Clock;
  readonly settings: InsightsSettings;
  /** The insight kinds (insightKind) some trail selects for an account's region now (decision 0019, point 6). */
  readonly enabledTypes: (accountId: string, region: string) => Promise<ReadonlySet<string>>;
  /** Cluster mode: the `insights` lease's token, claimed at load and carried by every write. */
  readonly fencingToken?: number;
  /** What the records of recent appends count as, read from the records ingest parsed (count-inputs.ts). */
  readonly inputs?: CountInputs;
}

/** While catching up on history, a region is judged at most once per this much eventTime per batch. */
const CATCH_UP_JUDGE_EVERY_MS = 60 * MINUTE_MS;

/** The start of the last minute closed at `timeMs`: its end plus the delay lies at or before it. */
function closedThrough(timeMs: number, delayMs: number): number {
  return Math.floor((timeMs - delayMs) / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
}

export class InsightsConsumer implements Consumer {
  readonly name = "insights";
  private lock: Promise<unknown> = Promise.resolve();
  /** Per account and region, the frontier last judged (in memory: only to pace judging while catching up). */
  private readonly judgedFrontier = new Map<string, number>();

  constructor(private readonly options: InsightsConsumerOptions) {}

  loadCursor(): Promise<number> {
    const { store, fencingToken } = this.options;
    return fencingToken === undefined ? store.cursor() : store.claim(fencingToken);
  }

  handle(batch: readonly JournalEntry[]): Promise<void> {
    return this.exclusive(async () => {
      const last = batch.at(-1);
      if (last === undefined) return;
      const nowMs = this.options.clock.nowMs();
      const counted = countBatch(batch, nowMs, this.options.inputs?.known);
      await this.options.store.addCounts({ toSeq: last.seq, ...counted }, this.fencing());
      this.options.inputs?.release(last.seq);
      const caughtUp = last.seq >= this.options.journal.headSeq();
      const stored = new Map((await this.options.store.regions()).map((r) => [regionId(r), r]));
      for (const seen of counted.regions) {
        const region = stored.get(regionId(seen));
        if (region !== undefined) await this.judgeRegion(region, this.closedByEvents(seen, nowMs), caughtUp);
      }
    });
  }

  /** The wall-clock pass: judges every account and region up to what the clock closed (clockFrontier). */
  tick(): Promise<void> {
    return this.exclusive(async () => {
      const nowMs = this.options.clock.nowMs();
      const delayMs = this.options.settings.detectionDelayMs;
      for (const region of await this.options.store.regions())
        await this.judgeRegion(region, closedThrough(clockFrontier(region, nowMs, delayMs), delayMs), true);
    });
  }

  /** The series' store answers now: a record it refuses is never the store's fault (counting never throws). */
  async probe(): Promise<void> {
    await this.options.store.cursor();
  }

  /**
   * What a batch closed in an account and region: the minutes ending a delay before its newest
   * eventTime there (decision 0019, point 4). The batch's own, not the newest ever seen: live calls
   * must not close the minutes of history still being sent in eventTime order.
   */
  private closedByEvents(seen: RegionActivity, nowMs: number): number {
    return closedThrough(Math.min(seen.newestEventMs, nowMs), this.options.settings.detectionDelayMs);
  }

  private async judgeRegion(region: RegionActivity, frontierMs: number, caughtUp: boolean): Promise<void> {
    const id = regionId(region);
    const previous = this.judgedFrontier.get(id) ?? -Infinity;
    // Catching up on history in eventTime order, judge once per hour of it; pendingSeries finds the rest.
    if (!caughtUp && frontierMs > previous && frontierMs - previous < CATCH_UP_JUDGE_EVERY_MS) return;
    const { store } = this.options;
    const pending = await store.pendingSeries(region.accountId, region.region, frontierMs);
    if (pending.length > 0) {
      const enabled = await this.options.enabledTypes(region.accountId, region.region);
      const items: JournalAppendItem[] = [];
      const states: SeriesState[] = [];
      for (const series of pending) {
        const judged = await this.judge(
          series,
          frontierMs,
          region.oldestEventMs,
          enabled.has(insightKind(categoryOfKey(series.key), series.key.insightType)),
        );
        items.push(...judged.items);
        states.push(judged.state);
      }
      // Records first: a crash before the states are saved judges again and appends the same keys.
      if (items.length > 0) await this.options.journal.append(items);
      await store.saveStates(states, this.fencing());
    }
    this.judgedFrontier.set(id, frontierMs);
  }

  private async judge(
    series: SeriesState,
    frontierMs: number,
    historyStartMs: number,
    reportStarts: boolean,
  ): Promise<{ items: JournalAppendItem[]; state: SeriesState }> {
    const { settings, store } = this.options;
    const window = judgeWindow(series, frontierMs, settings);
    const counts = await store.minuteCounts(series.key, window.fromMs, window.toMs);
    const { progress, detections } = judgeSeries({
      progress: series,
      counts,
      frontierMs,
      historyStartMs,
      settings,
      sharedEventId: (startMs) => sharedEventIdOf(series.key, startMs),
      reportStarts,
    });
    const items: JournalAppendItem[] = [];
    for (const detection of detections)
      if (detection.anomaly.reported) items.push(await this.recordOf(series, detection));
    return { items, state: { key: series.key, lastDataMs: series.lastDataMs, ...progress } };
  }

  private async recordOf(series: SeriesState, detection: Detection): Promise<JournalAppendItem> {
    const { store, settings } = this.options;
    const { anomaly } = detection;
    const state: InsightState = detection.kind === "start" ? "Start" : "End";
    const window = insightWindow(state, anomaly);
    const baselineFromMs = anomaly.startMs - settings.baselineMinutes * MINUTE_MS;
    return insightRecordItem({
      key: series.key,
      state,
      anomaly,
      baselineMinutes: settings.baselineMinutes,
      insightTotals: await store.attributionTotals(series.key, window.fromMs, window.toMs),
      baselineTotals: await store.attributionTotals(series.key, baselineFromMs, anomaly.startMs),
    });
  }

  /** Waits for the batch or pass in flight; the store belongs to the caller. */
  async close(): Promise<void> {
    await this.lock;
  }

  private fencing(): InsightFencing {
    const { fencingToken } = this.options;
    return fencingToken === undefined ? {} : { fencingToken };
  }

  /** handle() and tick() judge the same series: one at a time. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.lock.then(work, work);
    this.lock = next.catch(() => undefined);
    return next;
  }
}

/**
 * The eventTime the wall clock has reached in an account and region: now, once nothing arrived there
 * for the delay; otherwise its newest eventTime plus the time since it arrived. Without the latter a
 * region with sparse live calls waited for its next call to close a minute (up to a delay late: a
 * spike reported 2–3 minutes after its minute began, measured by bench/insights.ts). History sent in
 * eventTime order is safe: its next batch starts at or after its newest eventTime, and a minute
 * closes only a delay after its end, so less than a delay of waiting closes none of the minutes it
 * may still add to.
 */
function clockFrontier(region: RegionActivity, nowMs: number, delayMs: number): number {
  const sinceArrivalMs = nowMs - region.lastArrivalMs;
  if (sinceArrivalMs >= delayMs) return nowMs;
  return Math.min(nowMs, region.newestEventMs + Math.max(0, sinceArrivalMs));
}

function regionId(region: Pick<RegionActivity, "accountId" | "region">): string {
  return JSON.stringify([region.accountId, region.region]);
}
