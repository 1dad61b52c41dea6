/**
 * Builds proxied calls' records on a worker thread, so that decoding and record building never sit
 * on the proxy's event loop (the next request is forwarded while the last one is being recorded).
 * The main thread reads the signature scope and looks the access key up (the principals store is
 * its own); this thread decodes with its own copy of the service models and answers with the JSON.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Principal, PrincipalStore } from "../../identity/principal.js";
import { ServiceModels } from "../protocols/service-models.js";
import { recordOfCall, type ObservedCall } from "./record-of-call.js";

export interface RecordWorkerData {
  readonly modelsDirectory: string;
  readonly defaultAccountId: string;
}

export interface RecordJob {
  readonly id: number;
  readonly call: ObservedCall;
  /** The principal owning the call's access key (its secret blanked), or undefined. */
  readonly principal: Principal | undefined;
}

export interface RecordAnswer {
  readonly id: number;
  readonly json?: string;
  readonly error?: string;
}

/** Structured cloning turns Buffers into plain Uint8Arrays; the decoders expect Buffers. */
function asBuffer(bytes: Uint8Array | undefined): Buffer | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

if (parentPort !== null) {
  const port = parentPort;
  const data = workerData as RecordWorkerData;
  const models = new ServiceModels(data.modelsDirectory);
  models.prepare();
  let principal: Principal | undefined;
  // The one principal the main thread resolved for the job at hand.
  const principals: PrincipalStore = {
    findByAccessKeyId: () => principal,
    add: () => undefined,
    list: () => (principal === undefined ? [] : [principal]),
    close: () => undefined,
  };
  port.on("message", (job: RecordJob) => {
    try {
      principal = job.principal;
      const call: ObservedCall = {
        ...job.call,
        request: { ...job.call.request, body: asBuffer(job.call.request.body) },
        response: { ...job.call.response, body: asBuffer(job.call.response.body) },
      };
      const json = recordOfCall({ models, principals, defaultAccountId: data.defaultAccountId }, call);
      port.postMessage({ id: job.id, ...(json === undefined ? {} : { json }) } satisfies RecordAnswer);
    } catch (error) {
      port.postMessage({ id: job.id, error: String(error) } satisfies RecordAnswer);
    }
  });
}
