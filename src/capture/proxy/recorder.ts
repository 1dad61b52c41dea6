/**
 * Where proxied calls become records: on a worker thread (`record-worker.ts`) by default, so that
 * parsing, the principal lookup, decoding and record building never hold up the proxy's event loop,
 * or in this thread. The proxy hands over the call's raw facts (`CapturedCall`), moving its body
 * copies rather than copying them. With `principalsPath` the worker reads the principals store
 * itself; otherwise the principal is looked up here (through a short positive cache) and sent along.
 * A worker that fails is replaced by in-thread recording, and the calls it held are recorded again.
 */
import { Worker } from "node:worker_threads";
import type { Principal } from "../../stores/principals/index.js";
import { observedCallOf, type CapturedCall } from "./captured-call.js";
import { recordOfCall, type RecordContext } from "./record-of-call.js";
import type { RecordAnswer, RecordJob, RecordWorkerData } from "./record-worker.js";

export interface RecorderOptions {
  /** Build records on a worker thread (default true). */
  readonly onWorker?: boolean;
  /** The SQLite principals file behind `context.principals`: the worker opens it itself. */
  readonly principalsPath?: string;
}

/** How long a principal found in the store is reused without asking it again. */
const PRINCIPAL_CACHE_MS = 1_000;
/**
 * Calls are handed to the worker in batches, at most this long after they finished (and the records
 * come back in one message per batch): a thread woken once per batch rather than twice per call
 * competes less with the calls being forwarded meanwhile.
 */
const BATCH_MS = 10;
const BATCH_CALLS_MAX = 256;

export class Recorder {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly held = new Map<number, CapturedCall>();
  private idleWaiters: (() => void)[] = [];
  private readonly workerLooksUp: boolean;
  private readonly principalCache = new Map<string, { principal: Principal; untilMs: number }>();
  private batch: RecordJob[] = [];
  private batchTransfer: ArrayBuffer[] = [];
  private batchTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly context: RecordContext,
    private readonly onRecord: (json: string) => void,
    private readonly log: (line: string) => void,
    options: RecorderOptions = {},
  ) {
    this.workerLooksUp = options.principalsPath !== undefined;
    if (options.onWorker === false) {
      context.models.prepare();
      return;
    }
    const workerData: RecordWorkerData = {
      modelsDirectory: context.models.directory,
      defaultAccountId: context.defaultAccountId,
      ...(options.principalsPath === undefined ? {} : { principalsPath: options.principalsPath }),
    };
    const worker = new Worker(new URL("./record-worker.js", import.meta.url), { workerData });
    worker.on("message", (answers: RecordAnswer[]) => {
      for (const answer of answers) this.answered(answer);
    });
    worker.once("error", (error) => this.failed(error));
    this.worker = worker;
  }

  /**
   * Records a finished call; never throws (a call that cannot be recorded is logged). `transfer`:
   * ArrayBuffers of the call's bodies that nothing else uses, moved to the worker instead of copied.
   */
  record(call: CapturedCall, transfer: ArrayBuffer[] = []): void {
    if (this.worker === undefined) {
      this.recordHere(call);
      return;
    }
    try {
      const job: RecordJob = {
        id: this.nextId++,
        call,
        ...(this.workerLooksUp ? {} : { principal: this.principalOf(call) ?? null }),
      };
      this.held.set(job.id, call);
      this.batch.push(job);
      this.batchTransfer.push(...transfer);
      if (this.batch.length >= BATCH_CALLS_MAX) this.flush();
      else if (this.batchTimer === undefined) {
        this.batchTimer = setTimeout(() => this.flush(), BATCH_MS);
        this.batchTimer.unref();
      }
    } catch (error) {
      this.log(`could not record ${call.method} ${call.url}: ${String(error)}`);
    }
  }

  /** Hands the calls gathered so far to the worker, in one message. */
  private flush(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    const jobs = this.batch;
    const transfer = this.batchTransfer;
    this.batch = [];
    this.batchTransfer = [];
    if (jobs.length === 0 || this.worker === undefined) return;
    try {
      this.worker.postMessage(jobs, transfer);
    } catch (error) {
      for (const job of jobs) this.held.delete(job.id);
      this.log(`could not record ${jobs.length} call(s): ${String(error)}`);
      if (this.held.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** Waits (up to `timeoutMs`) for the calls being recorded, then stops the worker. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.flush();
    if (this.held.size > 0) {
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
      ]);
    }
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  /** The caller's principal, its secret blanked (the worker needs the identity only). */
  private principalOf(call: CapturedCall): Principal | undefined {
    if (this.context.principals === undefined) return undefined;
    const accessKeyId = observedCallOf(call)?.scope.accessKeyId;
    if (accessKeyId === undefined) return undefined;
    // eslint-disable-next-line no-restricted-properties -- a cache lifetime is real time, whatever clock the records use
    const nowMs = Date.now();
    const cached = this.principalCache.get(accessKeyId);
    if (cached !== undefined && cached.untilMs > nowMs) return cached.principal;
    // Only found keys are kept (a key added meanwhile is seen at once), and only briefly.
    const found = this.context.principals.findByAccessKeyId(accessKeyId);
    if (found === undefined) {
      this.principalCache.delete(accessKeyId);
      return undefined;
    }
    const principal = { ...found, secretAccessKey: "" };
    if (this.principalCache.size >= 1_000) this.principalCache.clear();
    this.principalCache.set(accessKeyId, { principal, untilMs: nowMs + PRINCIPAL_CACHE_MS });
    return principal;
  }

  private recordHere(call: CapturedCall): void {
    try {
      const observed = observedCallOf(call);
      const json = observed === undefined ? undefined : recordOfCall(this.context, observed);
      if (json !== undefined) this.onRecord(json);
    } catch (error) {
      this.log(`could not record ${call.method} ${call.url}: ${String(error)}`);
    }
  }

  private answered(answer: RecordAnswer): void {
    const call = this.held.get(answer.id);
    this.held.delete(answer.id);
    if (answer.json !== undefined) this.onRecord(answer.json);
    if (answer.error !== undefined && call !== undefined) {
      this.log(`could not record ${call.method} ${call.url}: ${answer.error}`);
    }
    if (this.held.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private failed(error: Error): void {
    this.log(`the recording thread failed (${error.message}); recording in the proxy's thread`);
    this.worker = undefined;
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    this.batch = [];
    this.batchTransfer = [];
    this.context.models.prepare();
    // Bodies moved to the dead worker are gone here: those parts of the record are left out.
    const intact = (bytes: Uint8Array | undefined, count: number): Uint8Array | undefined =>
      bytes !== undefined && bytes.byteLength === count ? bytes : undefined;
    const calls = [...this.held.values()];
    this.held.clear();
    for (const call of calls) {
      this.recordHere({
        ...call,
        body: intact(call.body, call.bodyBytes),
        responseBody: intact(call.responseBody, call.responseBodyBytes),
      });
    }
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
