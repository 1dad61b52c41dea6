/**
 * Builds proxied calls' records on a worker thread, so that parsing and decoding never sit on the
 * proxy's event loop (the next request is forwarded while the last one is being recorded). The main
 * thread sends the call's raw facts; this thread parses the request (URL, headers, SigV4 scope),
 * looks the batch's access keys up (in its own connection to the principals file, or takes the
 * principals the main thread resolved), decodes with its own copy of the service models and answers
 * with the JSON.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Principal } from "../../stores/principals/index.js";
import { openSqlitePrincipalStore } from "../../stores/principals/index.js";
import { ServiceModels } from "../protocols/service-models.js";
import { observedCallOf, type CapturedCall } from "./captured-call.js";
import { recordOfCall, type ObservedCall } from "./record-of-call.js";

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
  /** The call was recorded without a model, under this eventSource and eventName. */
  readonly unmodelled?: { readonly eventSource: string; readonly eventName: string };
}

type Parsed = { readonly call: ObservedCall | undefined } | { readonly error: string };

function parse(job: RecordJob): Parsed {
  try {
    return { call: observedCallOf(job.call) };
  } catch (error) {
    return { error: String(error) };
  }
}

if (parentPort !== null) {
  const port = parentPort;
  const data = workerData as RecordWorkerData;
  const models = new ServiceModels(data.modelsDirectory);
  models.prepare();
  const store = data.principalsPath === undefined ? undefined : openSqlitePrincipalStore(data.principalsPath);
  // The recorder logs operations recorded without a model; this thread reports them with each answer.
  const noted: { unmodelled?: RecordAnswer["unmodelled"] } = {};
  const context = {
    models,
    defaultAccountId: data.defaultAccountId,
    onUnmodelled: (eventSource: string, eventName: string) => (noted.unmodelled = { eventSource, eventName }),
  };

  /** The owners of the batch's access keys, in one lookup; undefined without a store of our own. */
  const ownersOf = async (parsed: Parsed[]): Promise<Map<string, Principal> | undefined> => {
    if (store === undefined) return undefined;
    const keys = parsed.flatMap((p) => ("call" in p && p.call !== undefined ? [p.call.scope.accessKeyId] : []));
    return store.findByAccessKeyIds(keys);
  };

  const recordBatch = async (jobs: RecordJob[]): Promise<RecordAnswer[]> => {
    const parsed = jobs.map(parse);
    let owners: Map<string, Principal> | undefined;
    try {
      owners = await ownersOf(parsed);
    } catch (error) {
      return jobs.map((job) => ({ id: job.id, error: `principal lookup: ${String(error)}` }));
    }
    return jobs.map((job, index): RecordAnswer => {
      const facts = parsed[index]!;
      if ("error" in facts) return { id: job.id, error: facts.error };
      if (facts.call === undefined) return { id: job.id };
      try {
        const principal =
          owners === undefined ? (job.principal ?? undefined) : owners.get(facts.call.scope.accessKeyId);
        noted.unmodelled = undefined;
        const json = recordOfCall(context, facts.call, principal);
        const unmodelled = noted.unmodelled === undefined ? {} : { unmodelled: noted.unmodelled };
        return { id: job.id, ...(json === undefined ? {} : { json }), ...unmodelled };
      } catch (error) {
        return { id: job.id, error: String(error) };
      }
    });
  };

  // A batch of calls in, their records out in one message, batches in the order they came.
  let previous = Promise.resolve();
  port.on("message", (jobs: RecordJob[]) => {
    previous = previous.then(async () => port.postMessage(await recordBatch(jobs)));
    // Answers that cannot be sent fail the worker, as when it answered synchronously: the recorder
    // then records the calls it holds in its own thread.
    previous.catch((error: unknown) =>
      process.nextTick(() => {
        throw error;
      }),
    );
  });
}
