import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { inflateRaw, inflateRawSync, type ZlibOptions } from "node:zlib";
import { blockDictionary, DICTIONARY_NONE } from "./block-dictionary.js";
import { invariant } from "./invariant.js";
import type { CompressAnswer, CompressRequest } from "./compress-worker.js";

const inflateRawAsync = promisify(inflateRaw);

function dictionaryOption(dictionaryId: number): Pick<ZlibOptions, "dictionary"> {
  if (dictionaryId === DICTIONARY_NONE) return {};
  const dictionary = blockDictionary(dictionaryId);
  // A valid CRC with an unknown id means a newer build wrote the block: refuse, never guess.
  invariant(dictionary !== undefined, `Block uses unknown compression dictionary ${dictionaryId}.`);
  return { dictionary };
}

/**
 * Compresses a group's block payloads on the journal's compression thread (compress-worker.ts), in
 * order. The async zlib API costs ~0.1 ms of the calling thread per block (a stream, a handle and a
 * 256 KiB state each), more than the ingest thread can spare at tens of thousands of events/s; one
 * message per group moves the payloads instead (transferred when they own their memory, as
 * encodePayload's do: the caller must not use them afterwards). The bytes are deflateRawSync's with
 * the same options. A worker that dies rejects what it had (the journal fails closed and recovers),
 * and the next call starts a new one.
 */
export function compressPayloads(payloads: readonly Buffer[], level: number, dictionaryId: number): Promise<Buffer[]> {
  dictionaryOption(dictionaryId); // fail here, not in the worker, for an unknown id
  const worker = compressionWorker();
  const id = nextCompressionId++;
  return new Promise((resolve, reject) => {
    pendingCompressions.set(id, { resolve, reject });
    if (pendingCompressions.size === 1) worker.ref();
    const transfer = payloads
      .filter((payload) => payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength)
      .map((payload) => payload.buffer as ArrayBuffer);
    worker.postMessage({ id, payloads, level, dictionaryId } satisfies CompressRequest, transfer);
  });
}

/**
 * Starts the compression thread and waits until it answers, so that the first group does not pay
 * for the thread's start (tens of ms). The journal calls it on open.
 */
export async function startCompressionThread(): Promise<void> {
  await compressPayloads([], 6, DICTIONARY_NONE);
}

let worker: Worker | undefined;
let nextCompressionId = 1;
const pendingCompressions = new Map<number, { resolve(buffers: Buffer[]): void; reject(error: Error): void }>();

function compressionWorker(): Worker {
  if (worker !== undefined) return worker;
  const started = new Worker(new URL("./compress-worker.js", import.meta.url));
  started.unref();
  started.on("message", (answer: CompressAnswer) => {
    const pending = pendingCompressions.get(answer.id);
    pendingCompressions.delete(answer.id);
    if (pendingCompressions.size === 0) started.unref();
    if (pending === undefined) return;
    if ("error" in answer) pending.reject(new Error(`Block compression failed: ${answer.error}`));
    else
      pending.resolve(answer.compressed.map((bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  });
  const fail = (error: Error): void => {
    if (worker === started) worker = undefined;
    for (const pending of pendingCompressions.values()) pending.reject(error);
    pendingCompressions.clear();
  };
  started.on("error", fail);
  started.on("exit", (code) => fail(new Error(`The journal compression thread exited (${code}).`)));
  worker = started;
  return started;
}

export interface InflateRequest {
  readonly compressed: Buffer;
  readonly uncompressedBytes: number;
  readonly dictionaryId: number;
}

/**
 * Inflates a block payload. `sync` runs it on the calling thread: for a small block (~40 KB out,
 * ~0.05 ms) the thread-pool hop and its queueing behind other I/O cost more than the work, so random
 * reads use it; sequential reads of many blocks stay async to use the pool's parallelism.
 */
export async function inflatePayload(request: InflateRequest, sync: boolean): Promise<Buffer> {
  const options = { chunkSize: request.uncompressedBytes + 64, ...dictionaryOption(request.dictionaryId) };
  return sync ? inflateRawSync(request.compressed, options) : inflateRawAsync(request.compressed, options);
}
