import { Worker } from "node:worker_threads";
import type { SigmaRule } from "../../sigma/index.js";
import type { NewSigmaMatch, StoredSigmaRule } from "../../stores/sigma/index.js";
import type { SigmaEvaluator } from "./sigma-evaluator.js";

/** What the evaluator says about its rules after each change: for replay, `/health` and skipping parses. */
export interface RuleFacts {
  readonly hasRules: boolean;
  readonly longestTimespanMs: number;
  readonly counts: { serverWide: number; accounts: number; accountRules: number };
}

/** One journal entry as the evaluator takes it. */
export interface EvaluatedEntry {
  readonly seq: number;
  readonly json: string;
}

/**
 * Where the rules run: a worker thread holding one SigmaEvaluator, so that the JSON parse and the
 * rules stay off the event loop that serves ingest.
 */
export interface SigmaEvaluation {
  facts(): RuleFacts;
  setStoredRules(stored: readonly StoredSigmaRule[]): Promise<void>;
  /** Forgets every correlation's state. */
  reset(): Promise<void>;
  evaluate(entries: readonly EvaluatedEntry[], nowMs: number): Promise<NewSigmaMatch[]>;
  close(): Promise<void>;
}

/** The facts the worker answers with after each change. */
export function factsOf(evaluator: SigmaEvaluator): RuleFacts {
  return {
    hasRules: evaluator.hasRules(),
    longestTimespanMs: evaluator.longestTimespanMs(),
    counts: evaluator.ruleCounts(),
  };
}

/** Parses each entry and offers it to the evaluator; an entry that is not JSON matches nothing. */
export function evaluateEntries(
  evaluator: SigmaEvaluator,
  entries: readonly EvaluatedEntry[],
  nowMs: number,
): NewSigmaMatch[] {
  const matches: NewSigmaMatch[] = [];
  for (const entry of entries) {
    let record: unknown;
    try {
      record = JSON.parse(entry.json);
    } catch {
      continue;
    }
    matches.push(...evaluator.offer(record, entry.seq, nowMs));
  }
  return matches;
}

export type WorkerRequest =
  | { readonly id: number; readonly op: "setStoredRules"; readonly stored: readonly StoredSigmaRule[] }
  | { readonly id: number; readonly op: "reset" }
  | {
      readonly id: number;
      readonly op: "evaluate";
      readonly entries: readonly EvaluatedEntry[];
      readonly nowMs: number;
    };

export type WorkerAnswer =
  | { readonly id: number; readonly facts?: RuleFacts; readonly matches?: NewSigmaMatch[]; readonly log?: string }
  | { readonly id: number; readonly error: string };

/** The evaluator on a worker thread (sigma-worker.ts), which gets the server-wide rules as they loaded. */
export async function workerEvaluation(
  serverRules: readonly SigmaRule[],
  log: (line: string) => void,
): Promise<SigmaEvaluation> {
  const worker = new Worker(new URL("./sigma-worker.js", import.meta.url), { workerData: { serverRules } });
  const pending = new Map<number, { resolve: (answer: WorkerAnswer) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  const failAll = (error: Error): void => {
    failure = error;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  worker.on("message", (answer: WorkerAnswer) => {
    if ("log" in answer && answer.log !== undefined) log(answer.log);
    const waiting = pending.get(answer.id);
    pending.delete(answer.id);
    if (waiting === undefined) return;
    if ("error" in answer) waiting.reject(new Error(answer.error));
    else waiting.resolve(answer);
  });
  worker.on("error", (error) => failAll(error));
  worker.on("exit", () => failAll(failure ?? new Error("The Sigma worker thread exited.")));
  const ask = (request: Omit<WorkerRequest, "id"> & { op: WorkerRequest["op"] }): Promise<WorkerAnswer> => {
    if (failure !== undefined) return Promise.reject(failure);
    const id = ++nextId;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id });
    });
  };
  let facts = (await ask({ op: "reset" })) as { facts: RuleFacts };
  return {
    facts: () => facts.facts,
    setStoredRules: async (stored) => {
      facts = (await ask({ op: "setStoredRules", stored } as WorkerRequest)) as { facts: RuleFacts };
    },
    reset: async () => void (await ask({ op: "reset" })),
    evaluate: async (entries, nowMs) =>
      ((await ask({ op: "evaluate", entries, nowMs } as WorkerRequest)) as { matches: NewSigmaMatch[] }).matches,
    close: async () => {
      failure ??= new Error("The Sigma worker thread was closed.");
      await worker.terminate();
    },
  };
}
