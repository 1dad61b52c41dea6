import type { AuditDefaults } from "../capture/self-audit/audit-record.js";
import {
  OTHER_SOURCES,
  refusedRequestsRecordOf,
  type RefusedRequestsTally,
} from "../capture/self-audit/refused-requests-record.js";
import { JournalUnavailableError, type Journal } from "../journal/index.js";
import type { Clock } from "../lib/clock.js";
import { SELF_AUDIT_PROVENANCE } from "../model/provenance.js";

/** One record per (source, error code) per window: a minute, as CloudTrail's own delivery granularity. */
const WINDOW_MS = 60_000;
/** Distinct (source, code) pairs named per window; the rest are counted under OTHER_SOURCES. */
const SOURCES_PER_WINDOW_MAX = 1_000;
/**
 * Ended windows kept while the journal cannot take them (a full disk); beyond, the oldest is
 * dropped and reported, so a long outage cannot grow this without bound.
 */
const PENDING_WINDOWS_MAX = 10;
/** How often ended windows are looked for. */
const FLUSH_TICK_MS = 1_000;

interface Count {
  count: number;
  lastRefusedMs: number;
}

export interface UnauthenticatedRefusalsOptions {
  readonly journal: Journal;
  readonly audit: AuditDefaults;
  readonly clock: Clock;
  readonly onInternalError: (error: unknown) => void;
  readonly sourcesPerWindowMax?: number;
}

/**
 * Counts the requests refused before any caller was identified (no signature, a malformed one, a
 * key no principal has) and writes one record per (source IP, error code, minute) with the count,
 * instead of one durable record each: anyone can send those, and must not be able to fill the
 * disk with them. Bounded in memory: at most SOURCES_PER_WINDOW_MAX named pairs per window.
 * Windows are written once they end, and all of them at close.
 */
export class UnauthenticatedRefusals {
  /** Window start (ms) → "ip code" → count. */
  private readonly windows = new Map<number, Map<string, Count & { ip: string; code: string }>>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(private readonly options: UnauthenticatedRefusalsOptions) {}

  /** Counts one refused request. */
  note(sourceIPAddress: string, errorCode: string): void {
    const nowMs = this.options.clock.nowMs();
    const windowStartMs = Math.floor(nowMs / WINDOW_MS) * WINDOW_MS;
    let window = this.windows.get(windowStartMs);
    if (window === undefined) this.windows.set(windowStartMs, (window = new Map()));
    let ip = sourceIPAddress;
    if (
      !window.has(`${ip} ${errorCode}`) &&
      window.size >= (this.options.sourcesPerWindowMax ?? SOURCES_PER_WINDOW_MAX)
    )
      ip = OTHER_SOURCES;
    const key = `${ip} ${errorCode}`;
    const count = window.get(key) ?? { ip, code: errorCode, count: 0, lastRefusedMs: nowMs };
    count.count += 1;
    count.lastRefusedMs = nowMs;
    window.set(key, count);
  }

  /** Writes every window as it ends, until close. */
  start(): void {
    this.timer = setInterval(() => void this.flush(false).catch(this.options.onInternalError), FLUSH_TICK_MS);
    this.timer.unref();
  }

  /** Stops the timer and writes every window, the current one included (up to now). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush(true);
  }

  /** Writes the ended windows (all of them with `all`); one flush at a time. */
  async flush(all: boolean): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    this.flushing = this.write(all).finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private async write(all: boolean): Promise<void> {
    const nowMs = this.options.clock.nowMs();
    for (const [windowStartMs, window] of [...this.windows].sort(([a], [b]) => a - b)) {
      const windowEndMs = Math.min(windowStartMs + WINDOW_MS, nowMs);
      if (!all && windowStartMs + WINDOW_MS > nowMs) continue;
      const tallies: RefusedRequestsTally[] = [...window.values()].map(({ ip, code, count, lastRefusedMs }) => ({
        sourceIPAddress: ip,
        errorCode: code,
        count,
        windowStartMs,
        windowEndMs,
        lastRefusedMs,
      }));
      try {
        await this.options.journal.append(
          tallies.map((tally) => ({
            json: refusedRequestsRecordOf(tally, this.options.audit).json,
            provenance: SELF_AUDIT_PROVENANCE,
          })),
        );
        this.windows.delete(windowStartMs);
      } catch (error) {
        // A journal that cannot write is an operating condition every call already answers 503 for.
        if (!(error instanceof JournalUnavailableError)) this.options.onInternalError(error);
        this.dropOverflowingWindows();
        return;
      }
    }
  }

  private dropOverflowingWindows(): void {
    while (this.windows.size > PENDING_WINDOWS_MAX) {
      const oldest = Math.min(...this.windows.keys());
      const dropped = [...this.windows.get(oldest)!.values()].reduce((sum, { count }) => sum + count, 0);
      this.windows.delete(oldest);
      this.options.onInternalError(
        new Error(`Dropped the count of ${dropped} unauthenticated refused requests: the journal could not take it.`),
      );
    }
  }
}
