/**
 * Where proxied calls become records: on a worker thread (`record-worker.ts`) by default, so that
 * decoding and record building never hold up the proxy's event loop, or in this thread. The
 * principal is looked up here (the store belongs to this thread) and handed over with the call.
 * A worker that fails is replaced by in-thread recording, and the calls it held are recorded again.
 */
import { Worker } from "node:worker_threads";
import { recordOfCall, type ObservedCall, type RecordContext } from "./record-of-call.js";
import type { RecordAnswer, RecordJob, RecordWorkerData } from "./record-worker.js";

export class Recorder {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly held = new Map<number, ObservedCall>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly context: RecordContext,
    private readonly onRecord: (json: string) => void,
    private readonly log: (line: string) => void,
    onWorker: boolean,
  ) {
    if (!onWorker) {
      context.models.prepare();
      return;
    }
    const workerData: RecordWorkerData = {
      modelsDirectory: context.models.directory,
      defaultAccountId: context.defaultAccountId,
    };
    const worker = new Worker(new URL("./record-worker.js", import.meta.url), { workerData });
    worker.on("message", (answer: RecordAnswer) => this.answered(answer));
    worker.once("error", (error) => this.failed(error));
    this.worker = worker;
  }

  /** Records a finished call; never throws (a call that cannot be recorded is logged). */
  record(call: ObservedCall): void {
    if (this.worker === undefined) {
      this.recordHere(call);
      return;
    }
    try {
      const found = this.context.principals?.findByAccessKeyId(call.scope.accessKeyId);
      const job: RecordJob = {
        id: this.nextId++,
        call,
        // The worker needs the identity, not the secret.
        principal: found === undefined ? undefined : { ...found, secretAccessKey: "" },
      };
      this.held.set(job.id, call);
      this.worker.postMessage(job);
    } catch (error) {
      this.log(`could not record ${call.request.method} ${call.request.path}: ${String(error)}`);
    }
  }

  /** Waits (up to `timeoutMs`) for the calls being recorded, then stops the worker. */
  async close(timeoutMs = 5_000): Promise<void> {
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

  private recordHere(call: ObservedCall): void {
    try {
      const json = recordOfCall(this.context, call);
      if (json !== undefined) this.onRecord(json);
    } catch (error) {
      this.log(`could not record ${call.request.method} ${call.request.path}: ${String(error)}`);
    }
  }

  private answered(answer: RecordAnswer): void {
    const call = this.held.get(answer.id);
    this.held.delete(answer.id);
    if (answer.json !== undefined) this.onRecord(answer.json);
    if (answer.error !== undefined && call !== undefined) {
      this.log(`could not record ${call.request.method} ${call.request.path}: ${answer.error}`);
    }
    if (this.held.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private failed(error: Error): void {
    this.log(`the recording thread failed (${error.message}); recording in the proxy's thread`);
    this.worker = undefined;
    this.context.models.prepare();
    const calls = [...this.held.values()];
    this.held.clear();
    for (const call of calls) this.recordHere(call);
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
