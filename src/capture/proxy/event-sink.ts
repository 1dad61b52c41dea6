/**
 * Hands captured records to the Cairn server over `POST /ingest`, so that none is lost while the
 * server is down or restarting:
 *
 * - every record is first appended to a spool file (`<data dir>/proxy-spool-<port>.ndjson`), then
 *   queued in memory (bounded: past `memoryRecordsMax` records only the spool holds the rest);
 * - a single sender posts batches and retries with back-off until the server accepts them;
 * - when everything queued is delivered, the spool is truncated; records only in the spool are
 *   re-read first. At start, a spool left by a stopped or crashed proxy is re-sent.
 *
 * Re-sending is safe: the server de-duplicates on (account, eventID, eventTime, source, name), so a
 * record delivered just before a crash is stored once. The spool is written without fsync: it
 * survives the proxy process dying, not the machine losing power.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import type { ClientSettings } from "../../client/client-settings.js";
import { IngestAuthError, sendIngestBatch, splitIntoBatches, type RetryPolicy } from "../../client/ingest-client.js";

export interface EventSinkOptions {
  readonly client: ClientSettings;
  /** Undefined: memory only (records queued when the process stops are lost). */
  readonly spoolPath: string | undefined;
  readonly memoryRecordsMax?: number;
  readonly batchRecordsMax?: number;
  readonly log: (line: string) => void;
}

const RETRY_DELAY_MS_MAX = 5_000;

export class EventSink {
  private queue: string[] = [];
  /** Records that are in the spool but were not kept in memory. */
  private spilled = false;
  private readonly fd: number | undefined;
  private pumping: Promise<void> | undefined;
  private closing = false;
  private wake: (() => void) | undefined;
  private readonly memoryRecordsMax: number;
  private readonly batchRecordsMax: number;
  delivered = 0;
  rejected = 0;

  constructor(private readonly options: EventSinkOptions) {
    this.memoryRecordsMax = options.memoryRecordsMax ?? 10_000;
    this.batchRecordsMax = options.batchRecordsMax ?? 500;
    if (options.spoolPath !== undefined) {
      const left = existsSync(options.spoolPath) ? this.readSpool() : [];
      this.fd = openSync(options.spoolPath, "a", 0o600);
      if (left.length > 0) options.log(`re-sending ${left.length} record(s) left in ${options.spoolPath}`);
      this.fill(left);
    }
    this.kick();
  }

  /** Takes one record's JSON. Synchronous: the record is in the spool when this returns. */
  enqueue(json: string): void {
    if (this.fd !== undefined) writeSync(this.fd, `${json}\n`);
    if (this.queue.length < this.memoryRecordsMax) this.queue.push(json);
    else if (this.fd !== undefined) this.spilled = true;
    else {
      this.rejected += 1;
      this.options.log("dropped a record: the in-memory queue is full and there is no spool");
    }
    this.kick();
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Delivers what is queued for up to `timeoutMs`, then stops; what is left stays in the spool. */
  async close(timeoutMs: number): Promise<void> {
    const drained = this.drained();
    await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    this.closing = true;
    this.wake?.();
    await this.pumping;
    if (this.fd !== undefined) closeSync(this.fd);
  }

  private async drained(): Promise<void> {
    while (this.queue.length > 0 || this.spilled) {
      await (this.pumping ?? Promise.resolve());
      if (this.queue.length > 0 || this.spilled) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private fill(records: string[]): void {
    this.queue.push(...records.slice(0, this.memoryRecordsMax));
    this.spilled = records.length > this.memoryRecordsMax;
  }

  private readSpool(): string[] {
    const text = readFileSync(this.options.spoolPath ?? "", "utf8");
    // A crash can leave a torn last line; anything that is not a whole JSON record is skipped.
    return text.split("\n").filter((line) => {
      if (line === "") return false;
      try {
        JSON.parse(line);
        return true;
      } catch {
        return false;
      }
    });
  }

  private kick(): void {
    if (this.pumping !== undefined || this.closing) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      if (!this.closing && (this.queue.length > 0 || this.spilled)) this.kick();
    });
  }

  private async pump(): Promise<void> {
    let delayMs = 250;
    while (!this.closing) {
      if (this.queue.length === 0) {
        if (!this.spilled) {
          if (this.fd !== undefined) ftruncateSync(this.fd, 0);
          return;
        }
        this.fill(this.readSpool());
        continue;
      }
      const count = Math.min(this.queue.length, this.batchRecordsMax);
      const records = this.queue.slice(0, count).map((json) => JSON.parse(json) as unknown);
      try {
        for (const batch of splitIntoBatches(records)) {
          const answer = await sendIngestBatch(this.options.client, batch, this.retryPolicy());
          if (isTransientRefusal(answer.accepted, answer.failed, batch.recordCount)) {
            throw new Error(`the server answered ${answer.failed[0]?.errorCode ?? "an error"}`);
          }
          this.delivered += answer.accepted;
          this.rejected += answer.failed.length;
          for (const failure of answer.failed.slice(0, 5)) {
            this.options.log(`the server rejected a record: ${failure.errorCode}: ${failure.message}`);
          }
        }
        this.queue.splice(0, count);
        delayMs = 250;
      } catch (error) {
        const reason = error instanceof IngestAuthError ? error.message : String(error);
        this.options.log(`cannot deliver ${this.queue.length} record(s) yet (${reason}); retrying`);
        await this.sleep(delayMs);
        delayMs = Math.min(delayMs * 2, RETRY_DELAY_MS_MAX);
      }
    }
  }

  private retryPolicy(): RetryPolicy {
    return { attemptsMax: 3, delayMsInitial: 100, delayMsMax: 1_000, sleep: (ms) => this.sleep(ms) };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** The whole batch refused for a reason that passes (server starting, journal unavailable): retry it. */
function isTransientRefusal(accepted: number, failed: readonly { errorCode: string }[], recordCount: number): boolean {
  return (
    accepted === 0 &&
    failed.length === recordCount &&
    failed.every((failure) => /ServiceUnavailable|Throttl|InternalFailure|^HTTP5/.test(failure.errorCode))
  );
}
