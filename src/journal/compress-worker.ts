/**
 * The journal's compression thread (block-codec.ts, compressPayloads): deflates a group's block
 * payloads synchronously, off the ingest thread and off libuv's pool (which keeps the writes and
 * fsyncs). One message per group in, one out.
 */
import { parentPort } from "node:worker_threads";
import { deflateRawSync } from "node:zlib";
import { blockDictionary, DICTIONARY_NONE } from "./block-dictionary.js";

export interface CompressRequest {
  readonly id: number;
  readonly payloads: readonly Uint8Array[];
  readonly level: number;
  readonly dictionaryId: number;
}

export type CompressAnswer =
  { readonly id: number; readonly compressed: Uint8Array[] } | { readonly id: number; readonly error: string };

const port = parentPort!;
port.on("message", (request: CompressRequest) => {
  try {
    const dictionary = request.dictionaryId === DICTIONARY_NONE ? undefined : blockDictionary(request.dictionaryId);
    if (request.dictionaryId !== DICTIONARY_NONE && dictionary === undefined)
      throw new Error(`Unknown compression dictionary ${request.dictionaryId}.`);
    const compressed = request.payloads.map((payload) => {
      const out = deflateRawSync(payload, {
        level: request.level,
        chunkSize: payload.length + 1024,
        ...(dictionary !== undefined ? { dictionary } : {}),
      });
      // Transferable only when it owns its memory; otherwise a copy that does.
      return out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : new Uint8Array(out);
    });
    port.postMessage(
      { id: request.id, compressed } satisfies CompressAnswer,
      compressed.map((c) => c.buffer as ArrayBuffer),
    );
  } catch (error) {
    port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) });
  }
});
