/**
 * Hands captured records to the Cairn server over `POST /ingest`, so that none is lost while the
 * server is down or restarting:
 *
 * - every record is first appended to a spool file (`<data dir>/proxy-spool-<port>.ndjson`), then
 *   queued for sending (bounded: past `memoryRecordsMax` records only the spool holds the rest).
 *   Spool writes are asynchronous and batched (one `write` every `spoolFlushMs` for the records
 *   enqueued meanwhile), so `enqueue` costs the caller nothing; a record becomes sendable only once its
 *   write has completed, so the sender never holds a record the spool does not;
 * - a single sender posts batches (waiting `lingerMs` for a batch to fill, so a steady trickle of
 *   calls costs the server one request per linger, not one per call) and retries with back-off until
 *   the server accepts them;
 * - when everything queued is delivered, the spool is truncated; records only in the spool are
 *   re-read first. At start, a spool left by a stopped or crashed proxy is re-sent.
 *
 * Re-sending is safe: the server de-duplicates on (account, eventID, eventTime, source, name), so a
 * record delivered just before a crash is stored once. The spool is written without fsync: it
 * survives the proxy process dying, not the machine losing power.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, write, writeSync } from "node:fs";
import type { ClientSettings } from "../../client/client-settings.js";
import { IngestAuthError, sendIngestBatch, splitIntoBatches, type RetryPolicy } from "../../client/ingest-client.js";

export interface EventSinkOptions {
  readonly client: ClientSettings;
  /** Undefined: memory only (records queued when the process stops are lost). */
  readonly spoolPath: string | undefined;
  readonly memoryRecordsMax?: number;
  readonly batchRecordsMax?: number;
  /** How long the sender waits for a partial batch to fill before posting it (default 50 ms). */
  readonly lingerMs?: number;
  /**
   * How long enqueued records wait to be appended to the spool together (default 10 ms; 0: at the
   * end of the event-loop turn). One write per interval instead of one per record.
   */
  readonly spoolFlushMs?: number;
  readonly log: (line: string) => void;
}

const RETRY_DELAY_MS_MAX = 5_000;

export class EventSink {
  private queue: string[] = [];
  /** Enqueued, not yet written to the spool (the next write takes them all). */
  private unwritten: string[] = [];
  /** The write in flight, if any: spool writes are sequential, so records keep their order. */
  private writing: Promise<void> | undefined;
  private writeScheduled = false;
  private fdClosed = false;
  /** Records that are in the spool but were not kept in memory. */
  private spilled = false;
  private readonly fd: number | undefined;
  private pumping: Promise<void> | undefined;
  private closing = false;
  private wake: (() => void) | undefined;
  private readonly memoryRecordsMax: number;
  private readonly batchRecordsMax: number;
  private readonly lingerMs: number;
  private readonly spoolFlushMs: number;
  delivered = 0;
  rejected = 0;

  constructor(private readonly options: EventSinkOptions) {
    this.memoryRecordsMax = options.memoryRecordsMax ?? 10_000;
    this.batchRecordsMax = options.batchRecordsMax ?? 500;
    this.lingerMs = options.lingerMs ?? 50;
    this.spoolFlushMs = options.spoolFlushMs ?? 10;
    if (options.spoolPath !== undefined) {
      const left = existsSync(options.spoolPath) ? this.readSpool() : [];
      this.fd = openSync(options.spoolPath, "a", 0o600);
      if (left.length > 0) options.log(`re-sending ${left.length} record(s) left in ${options.spoolPath}`);
      this.fill(left);
    }
    this.kick();
  }

  /**
   * Takes one record's JSON. Returns at once: the record is appended to the spool within
   * `spoolFlushMs` (in one write with the others enqueued meanwhile) and sent only after that write.
   */
  enqueue(json: string): void {
    if (this.fd === undefined) {
      this.accept([json]);
      return;
    }
    this.unwritten.push(json);
    if (!this.writeScheduled && this.writing === undefined) {
      this.writeScheduled = true;
      if (this.spoolFlushMs > 0) setTimeout(() => this.writeUnwritten(), this.spoolFlushMs);
      else setImmediate(() => this.writeUnwritten());
    }
  }

  /** Appends every unwritten record to the spool in one write, then hands them to the sender. */
  private writeUnwritten(): void {
    this.writeScheduled = false;
    if (this.fd === undefined || this.fdClosed || this.unwritten.length === 0 || this.writing !== undefined) return;
    const records = this.unwritten;
    this.unwritten = [];
    const fd = this.fd;
    this.writing = new Promise<void>((resolve) => {
      const data = Buffer.from(`${records.join("\n")}\n`);
      const writeFrom = (offset: number): void => {
        write(fd, data, offset, data.length - offset, null, (error, written) => {
          if (error === null && offset + written < data.length) return writeFrom(offset + written);
          // Not in the spool (disk full…): still delivered from memory, only not crash-safe.
          if (error !== null) this.options.log(`could not write the spool: ${error.message}`);
          resolve();
        });
      };
      writeFrom(0);
    }).then(() => {
      this.writing = undefined;
      this.accept(records);
      if (this.unwritten.length > 0) this.writeUnwritten();
    });
  }

  /** Records now in the spool (or without one): queued in memory while there is room. */
  private accept(records: readonly string[]): void {
    for (const json of records) {
      if (this.queue.length < this.memoryRecordsMax) this.queue.push(json);
      else if (this.fd !== undefined) this.spilled = true;
      else {
        this.rejected += 1;
        this.options.log("dropped a record: the in-memory queue is full and there is no spool");
      }
    }
    this.kick();
  }

  /** Writes what is not yet in the spool, synchronously (stopping). */
  private writeUnwrittenNow(): void {
    if (this.fd === undefined || this.fdClosed || this.unwritten.length === 0) return;
    writeSync(this.fd, `${this.unwritten.join("\n")}\n`);
    this.unwritten = [];
  }

  get pending(): number {
    return this.queue.length + this.unwritten.length;
  }

  /** Delivers what is queued for up to `timeoutMs`, then stops; what is left stays in the spool. */
  async close(timeoutMs: number): Promise<void> {
    const drained = this.drained();
    await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    this.closing = true;
    this.wake?.();
    await this.pumping;
    await this.writing;
    this.writeUnwrittenNow();
    if (this.fd !== undefined && !this.fdClosed) closeSync(this.fd);
    this.fdClosed = true;
  }

  private async drained(): Promise<void> {
    while (this.queue.length > 0 || this.spilled || this.unwritten.length > 0 || this.writing !== undefined) {
      await (this.pumping ?? this.writing ?? Promise.resolve());
      if (this.queue.length > 0 || this.spilled || this.unwritten.length > 0) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
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
          // Only when no write is pending: a record on its way to the spool must not be cut off.
          if (this.fd !== undefined && this.writing === undefined && this.unwritten.length === 0) {
            ftruncateSync(this.fd, 0);
          }
          return;
        }
        this.fill(this.readSpool());
        continue;
      }
      if (this.queue.length < this.batchRecordsMax && this.lingerMs > 0) {
        await this.sleep(this.lingerMs);
        if (this.closing) break;
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
