/**
 * A small pool of import workers (import-worker.ts), one per core up to four: each file is parsed and
 * normalised on a worker while the runner de-duplicates and DuckDB writes Parquet.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { FileRequest, FileResult } from "./import-rows.js";

const WORKER_URL = new URL("./import-worker.js", import.meta.url);

export class ImportWorkerPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (r: FileResult) => void; reject: (e: Error) => void }>();
  private next = 0;
  private failed: Error | undefined;

  constructor(size = Math.max(1, Math.min(4, availableParallelism()))) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(WORKER_URL);
      worker.on("message", (result: FileResult) => {
        const waiter = this.pending.get(result.id);
        this.pending.delete(result.id);
        waiter?.resolve(result);
      });
      worker.on("error", (error) => this.fail(error));
      worker.on("exit", (code) => {
        if (code !== 0) this.fail(new Error(`import worker exited with code ${code}`));
      });
      this.workers.push(worker);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  private fail(error: Error): void {
    this.failed ??= error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  /** Parses one file on the next worker (round robin); the request's bytes are transferred. */
  run(request: FileRequest): Promise<FileResult> {
    if (this.failed) return Promise.reject(this.failed);
    const worker = this.workers[this.next++ % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject });
      const transfer = request.bytes !== undefined ? [request.bytes.buffer as ArrayBuffer] : [];
      worker.postMessage(request, transfer);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
