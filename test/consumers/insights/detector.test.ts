import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  durationMinutes,
  judgeSeries,
  judgeWindow,
  thresholdOf,
  type DetectorSettings,
} from "../../../src/consumers/insights/detector.js";
import { MINUTE_MS, type MetricPoint } from "../../../src/stores/insights/index.js";

const SETTINGS: DetectorSettings = { baselineMinutes: 7 * 1440, thresholdSigma: 6, minimumRate: 10, quietMinutes: 3 };
const T0 = Date.UTC(2026, 0, 1);
const WEEK_MS = SETTINGS.baselineMinutes * MINUTE_MS;
const at = (minutes: number): number => T0 + minutes * MINUTE_MS;
const sharedEventId = (startMs: number): string => `shared-${startMs}`;

/** `count` calls every `every` minutes over the week before T0 + one week (the baseline). */
function steadyWeek(count: number, every: number): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (let m = 0; m < SETTINGS.baselineMinutes; m += every) points.push({ timeMs: at(m), count });
  return points;
}

const spikeAt = SETTINGS.baselineMinutes + 10;

describe("Insights detector", () => {
  it("starts an anomaly at the first minute over max(mean + kσ, minimum), with the baseline mean", () => {
    const counts = [...steadyWeek(2, 60), { timeMs: at(spikeAt), count: 40 }];
    const { progress, detections } = judgeSeries({
      progress: { judgedThroughMs: at(-1) },
      counts,
      frontierMs: at(spikeAt),
      historyStartMs: at(0),
      settings: SETTINGS,
      sharedEventId,
      reportStarts: true,
    });
    assert.equal(detections.length, 1);
    const [start] = detections;
    assert.equal(start!.kind, "start");
    assert.equal(start!.anomaly.startMs, at(spikeAt));
    assert.equal(start!.anomaly.callsToLastHot, 40);
    assert.equal(start!.anomaly.sharedEventId, `shared-${at(spikeAt)}`);
    // The baseline [spike − 1 week, spike) holds 167 of the hourly points (minute 0 lies before it).
    assert.ok(Math.abs(start!.anomaly.baselineAverage - (167 * 2) / 10_080) < 1e-12);
    assert.equal(progress.judgedThroughMs, at(spikeAt));
    assert.deepEqual(progress.anomaly, start!.anomaly);
  });

  it("ends after quietMinutes minutes not over the threshold, with the calls up to the last hot minute", () => {
    const counts = [
      ...steadyWeek(2, 60),
      { timeMs: at(spikeAt), count: 40 },
      { timeMs: at(spikeAt + 1), count: 3 },
      { timeMs: at(spikeAt + 2), count: 50 },
    ];
    const { progress, detections } = judgeSeries({
      progress: { judgedThroughMs: at(-1) },
      counts,
      frontierMs: at(spikeAt + 10),
      historyStartMs: at(0),
      settings: SETTINGS,
      sharedEventId,
      reportStarts: true,
    });
    assert.deepEqual(
      detections.map((d) => d.kind),
      ["start", "end"],
    );
    const end = detections[1]!.anomaly;
    assert.equal(end.lastHotMs, at(spikeAt + 2));
    assert.equal(end.callsToLastHot, 93);
    assert.equal(durationMinutes(end), 3);
    assert.equal(progress.anomaly, undefined);
    assert.equal(progress.judgedThroughMs, at(spikeAt + 10));
  });

  it("keeps an anomaly open across calls to judge, minute by minute, until the quiet run is closed", () => {
    const counts = [...steadyWeek(2, 60), { timeMs: at(spikeAt), count: 40 }];
    const first = judgeSeries({
      progress: { judgedThroughMs: at(-1) },
      counts,
      frontierMs: at(spikeAt + 2),
      historyStartMs: at(0),
      settings: SETTINGS,
      sharedEventId,
      reportStarts: true,
    });
    assert.deepEqual(
      first.detections.map((d) => d.kind),
      ["start"],
    );
    assert.ok(first.progress.anomaly !== undefined);
    const second = judgeSeries({
      progress: first.progress,
      counts,
      frontierMs: at(spikeAt + 3),
      historyStartMs: at(0),
      settings: SETTINGS,
      sharedEventId,
      reportStarts: true,
    });
    assert.deepEqual(
      second.detections.map((d) => d.kind),
      ["end"],
    );
    assert.equal(second.detections[0]!.anomaly.startMs, at(spikeAt));
  });

  it("finds nothing in a steady load, nor in a spike without a whole baseline of history", () => {
    const steady: MetricPoint[] = [];
    for (let m = 0; m < SETTINGS.baselineMinutes + 120; m++) steady.push({ timeMs: at(m), count: 12 + (m % 3) });
    const quiet = judgeSeries({
      progress: { judgedThroughMs: at(-1) },
      counts: steady,
      frontierMs: at(SETTINGS.baselineMinutes + 119),
      historyStartMs: at(0),
      settings: SETTINGS,
      sharedEventId,
      reportStarts: true,
    });
    assert.deepEqual(quiet.detections, []);
    const young = judgeSeries({
      progress: { judgedThroughMs: at(-1) },
      counts: [{ timeMs: at(30), count: 500 }],
      frontierMs: at(40),
      historyStartMs: at(0),
      settings: SETTINGS,
      sharedEventId,
      reportStarts: true,
    });
    assert.deepEqual(young.detections, []);
    assert.equal(young.progress.judgedThroughMs, at(40));
  });

  it("never fires below the minimum rate, however flat the baseline", () => {
    const counts = [{ timeMs: at(spikeAt), count: 10 }];
    const { detections } = judgeSeries({
      progress: { judgedThroughMs: at(-1) },
      counts,
      frontierMs: at(spikeAt),
      historyStartMs: at(0),
      settings: SETTINGS,
      sharedEventId,
      reportStarts: true,
    });
    assert.deepEqual(detections, []);
    assert.equal(thresholdOf(0, 0, SETTINGS), 10);
    assert.equal(thresholdOf(5, 2, SETTINGS), 17);
  });

  it("asks for the counts of the baseline before the first minute to judge", () => {
    const window = judgeWindow({ judgedThroughMs: at(100) }, at(200), SETTINGS);
    assert.deepEqual(window, { fromMs: at(101) - WEEK_MS, toMs: at(201) });
  });
});
