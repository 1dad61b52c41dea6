/**
 * Builds proxied calls' records on a worker thread, so that parsing and decoding never sit on the
 * proxy's event loop (the next request is forwarded while the last one is being recorded). The main
 * thread sends the call's raw facts; this thread parses the request (URL, headers, SigV4 scope),
 * looks the access key up (in its own connection to the principals file, or takes the principal the
 * main thread resolved), decodes with its own copy of the service models and answers with the JSON.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Principal, PrincipalStore } from "../../stores/principals/index.js";
import { openSqlitePrincipalStore } from "../../stores/principals/index.js";
import { ServiceModels } from "../protocols/service-models.js";
import { observedCallOf, type CapturedCall } from "./captured-call.js";
import { recordOfCall } from "./record-of-call.js";

export interface RecordWorkerData {
  readonly modelsDirectory: string;
  readonly defaultAccountId: string;
  /** The principals file to read callers from; without it each job carries its principal. */
  readonly principalsPath?: string;
}

export interface RecordJob {
  readonly id: number;
  readonly call: CapturedCall;
  /**
   * Without `principalsPath`: the principal owning the call's access key (its secret blanked), or
   * null when the key is unknown. Absent when this thread looks keys up itself.
   */
  readonly principal?: Principal | null;
}

export interface RecordAnswer {
  readonly id: number;
  readonly json?: string;
  readonly error?: string;
}

if (parentPort !== null) {
  const port = parentPort;
  const data = workerData as RecordWorkerData;
  const models = new ServiceModels(data.modelsDirectory);
  models.prepare();
  const store = data.principalsPath === undefined ? undefined : openSqlitePrincipalStore(data.principalsPath);
  let principal: Principal | undefined;
  // The one principal the main thread resolved for the job at hand.
  const given: PrincipalStore = {
    findByAccessKeyId: () => principal,
    add: () => undefined,
    list: () => (principal === undefined ? [] : [principal]),
    close: () => undefined,
  };
  const context = { models, principals: store ?? given, defaultAccountId: data.defaultAccountId };
  const recordJob = (job: RecordJob): RecordAnswer => {
    try {
      principal = job.principal ?? undefined;
      const call = observedCallOf(job.call);
      const json = call === undefined ? undefined : recordOfCall(context, call);
      return { id: job.id, ...(json === undefined ? {} : { json }) };
    } catch (error) {
      return { id: job.id, error: String(error) };
    }
  };
  // A batch of calls in, their records out in one message.
  port.on("message", (jobs: RecordJob[]) => port.postMessage(jobs.map(recordJob)));
}
