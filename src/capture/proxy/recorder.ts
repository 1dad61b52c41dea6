/**
 * Where proxied calls become records: on a worker thread (`record-worker.ts`) by default, so that
 * parsing, the principal lookup, decoding and record building never hold up the proxy's event loop,
 * or in this thread. The proxy hands over the call's raw facts (`CapturedCall`), moving its body
 * copies rather than copying them. With `principalsPath` the worker reads the principals store
 * itself; otherwise a batch's principals are looked up here (through a short positive cache, in one
 * store call per batch) and sent along. A worker that fails is replaced by in-thread recording, and
 * the calls it held are recorded again.
 */
import { Worker } from "node:worker_threads";
import type { Principal, PrincipalStore } from "../../stores/principals/index.js";
import { observedCallOf, type CapturedCall } from "./captured-call.js";
import { recordOfCall, type ObservedCall, type RecordContext } from "./record-of-call.js";
import type { RecordAnswer, RecordJob, RecordWorkerData } from "./record-worker.js";

export interface RecorderContext extends RecordContext {
  /** Where callers are looked up, unless the worker reads `principalsPath` itself. */
  readonly principals: PrincipalStore | undefined;
}

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
/** Distinct operations logged as recorded without a model; past this, clients inventing names go unlogged. */
const UNMODELLED_LOGGED_MAX = 1_000;

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
  /** Batches whose principals are being looked up here, posted in order. Never rejects. */
  private sending: Promise<void> = Promise.resolve();
  /** Calls being recorded in this thread, in order. Never rejects. */
  private recordingHere: Promise<void> = Promise.resolve();
  /** `<eventSource> <eventName>` of the operations already logged as recorded without a model. */
  private readonly unmodelledLogged = new Set<string>();
  /** The context of calls recorded in this thread: told of unmodelled operations. */
  private readonly context: RecorderContext;

  constructor(
    context: RecorderContext,
    private readonly onRecord: (json: string) => void,
    private readonly log: (line: string) => void,
    options: RecorderOptions = {},
  ) {
    this.context = { ...context, onUnmodelled: (source, name) => this.noteUnmodelled(source, name) };
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
      this.recordHere([call]);
      return;
    }
    try {
      const job: RecordJob = { id: this.nextId++, call };
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
    if (this.workerLooksUp) this.post(jobs, transfer);
    else this.sending = this.sending.then(() => this.postWithPrincipals(jobs, transfer));
  }

  private async postWithPrincipals(jobs: RecordJob[], transfer: ArrayBuffer[]): Promise<void> {
    const accessKeyIds = jobs.map((job) => accessKeyIdOf(job.call));
    let owners: Map<string, Principal>;
    try {
      owners = await this.ownersOf(accessKeyIds);
    } catch (error) {
      this.drop(jobs, error);
      return;
    }
    const withPrincipals = jobs.map((job, index) => ({
      ...job,
      principal: owners.get(accessKeyIds[index] ?? "") ?? null,
    }));
    this.post(withPrincipals, transfer);
  }

  private post(jobs: RecordJob[], transfer: ArrayBuffer[]): void {
    // A worker that failed meanwhile handed the held calls to this thread already.
    if (this.worker === undefined) return;
    try {
      this.worker.postMessage(jobs, transfer);
    } catch (error) {
      this.drop(jobs, error);
    }
  }

  private drop(jobs: RecordJob[], error: unknown): void {
    for (const job of jobs) this.held.delete(job.id);
    this.log(`could not record ${jobs.length} call(s): ${String(error)}`);
    if (this.held.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Waits (up to `timeoutMs`) for the calls being recorded, then stops the worker. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.flush();
    const workerIdle = this.held.size > 0 ? new Promise<void>((resolve) => this.idleWaiters.push(resolve)) : undefined;
    await Promise.race([
      Promise.all([workerIdle, this.recordingHere]),
      new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  /**
   * The owners of these access keys, their secrets blanked (records need the identity only): from the
   * short cache, the rest in one store call.
   */
  private async ownersOf(accessKeyIds: readonly (string | undefined)[]): Promise<Map<string, Principal>> {
    const owners = new Map<string, Principal>();
    const store = this.context.principals;
    if (store === undefined) return owners;
    // eslint-disable-next-line no-restricted-properties -- a cache lifetime is real time, whatever clock the records use
    const nowMs = Date.now();
    const missing = new Set<string>();
    for (const accessKeyId of accessKeyIds) {
      if (accessKeyId === undefined || owners.has(accessKeyId)) continue;
      const cached = this.principalCache.get(accessKeyId);
      if (cached !== undefined && cached.untilMs > nowMs) owners.set(accessKeyId, cached.principal);
      else missing.add(accessKeyId);
    }
    if (missing.size === 0) return owners;
    const found = await store.findByAccessKeyIds([...missing]);
    // Only found keys are kept (a key added meanwhile is seen at once), and only briefly.
    for (const accessKeyId of missing) {
      const principal = found.get(accessKeyId);
      this.principalCache.delete(accessKeyId);
      if (principal === undefined) continue;
      const blanked = { ...principal, secretAccessKey: "" };
      if (this.principalCache.size >= 1_000) this.principalCache.clear();
      this.principalCache.set(accessKeyId, { principal: blanked, untilMs: nowMs + PRINCIPAL_CACHE_MS });
      owners.set(accessKeyId, blanked);
    }
    return owners;
  }

  private recordHere(calls: readonly CapturedCall[]): void {
    this.recordingHere = this.recordingHere.then(() => this.recordHereNow(calls));
  }

  /** Never rejects: a call that cannot be recorded is logged. */
  private async recordHereNow(calls: readonly CapturedCall[]): Promise<void> {
    const observed = calls.map((call) => this.attempt(call, () => observedCallOf(call)));
    let owners: Map<string, Principal>;
    try {
      owners = await this.ownersOf(observed.map((facts) => facts?.scope.accessKeyId));
    } catch (error) {
      this.log(`could not record ${calls.length} call(s): ${String(error)}`);
      return;
    }
    calls.forEach((call, index) => {
      const facts: ObservedCall | undefined = observed[index];
      if (facts === undefined) return;
      const json = this.attempt(call, () => recordOfCall(this.context, facts, owners.get(facts.scope.accessKeyId)));
      if (json !== undefined) this.attempt(call, () => this.onRecord(json));
    });
  }

  /** `step`'s result, or undefined (logged) when it throws. */
  private attempt<T>(call: CapturedCall, step: () => T): T | undefined {
    try {
      return step();
    } catch (error) {
      this.log(`could not record ${call.method} ${call.url}: ${String(error)}`);
      return undefined;
    }
  }

  private answered(answer: RecordAnswer): void {
    const call = this.held.get(answer.id);
    this.held.delete(answer.id);
    if (answer.json !== undefined) this.onRecord(answer.json);
    if (answer.unmodelled !== undefined)
      this.noteUnmodelled(answer.unmodelled.eventSource, answer.unmodelled.eventName);
    if (answer.error !== undefined && call !== undefined) {
      this.log(`could not record ${call.method} ${call.url}: ${answer.error}`);
    }
    if (this.held.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Logs, once per operation, that calls of it are recorded without a model (named from the request). */
  private noteUnmodelled(eventSource: string, eventName: string): void {
    const key = `${eventSource} ${eventName}`;
    if (this.unmodelledLogged.has(key) || this.unmodelledLogged.size > UNMODELLED_LOGGED_MAX) return;
    this.unmodelledLogged.add(key);
    if (this.unmodelledLogged.size > UNMODELLED_LOGGED_MAX) {
      this.log(`more operations are recorded without a model; no longer logging them`);
      return;
    }
    this.log(`recorded ${eventSource} ${eventName} without a service model (named from the request; logged once)`);
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
    this.recordHere(
      calls.map((call) => ({
        ...call,
        body: intact(call.body, call.bodyBytes),
        responseBody: intact(call.responseBody, call.responseBodyBytes),
      })),
    );
    // Waiters (close) are released once these calls are recorded here.
    void this.recordingHere.then(() => {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }
}

/** The call's access key; undefined for a call that cannot be parsed (the worker reports those). */
function accessKeyIdOf(call: CapturedCall): string | undefined {
  try {
    return observedCallOf(call)?.scope.accessKeyId;
  } catch {
    return undefined;
  }
}
