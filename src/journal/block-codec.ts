import { promisify } from "node:util";
import { deflateRaw, inflateRaw, inflateRawSync, type ZlibOptions } from "node:zlib";
import { blockDictionary, DICTIONARY_NONE } from "./block-dictionary.js";
import { invariant } from "./invariant.js";

const deflateRawAsync = promisify(deflateRaw);
const inflateRawAsync = promisify(inflateRaw);

function dictionaryOption(dictionaryId: number): Pick<ZlibOptions, "dictionary"> {
  if (dictionaryId === DICTIONARY_NONE) return {};
  const dictionary = blockDictionary(dictionaryId);
  // A valid CRC with an unknown id means a newer build wrote the block: refuse, never guess.
  invariant(dictionary !== undefined, `Block uses unknown compression dictionary ${dictionaryId}.`);
  return { dictionary };
}

/**
 * Compressions queued on libuv's thread pool at once. The pool (4 threads) also runs the writer's
 * write and fdatasync: a group of 16k entries is ~500 blocks, and with all of them queued the previous
 * group's fsync waited behind the next group's compression, which undid the writer's pipelining
 * (measured: 15–20k events/s instead of 40–50k). Two keep both cores busy and leave threads free for I/O.
 */
const COMPRESSIONS_IN_FLIGHT_MAX = 2;
let compressionsInFlight = 0;
const compressionQueue: Array<() => void> = [];

async function withCompressionSlot<T>(work: () => Promise<T>): Promise<T> {
  if (compressionsInFlight >= COMPRESSIONS_IN_FLIGHT_MAX) {
    await new Promise<void>((resolve) => compressionQueue.push(resolve));
  } else {
    compressionsInFlight++;
  }
  try {
    return await work();
  } finally {
    // Hand the slot straight to the next waiter, or release it.
    const next = compressionQueue.shift();
    if (next === undefined) compressionsInFlight--;
    else next();
  }
}

/** Compresses a block payload on libuv's thread pool. */
export function compressPayload(payload: Buffer, level: number, dictionaryId: number): Promise<Buffer> {
  // One output chunk (the default 16 KiB chunks cost a thread-pool round trip each).
  const options = { level, chunkSize: payload.length + 1024, ...dictionaryOption(dictionaryId) };
  return withCompressionSlot(() => deflateRawAsync(payload, options));
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
