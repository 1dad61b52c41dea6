/**
 * The Sigma rules on a worker thread (sigma-evaluation.ts, workerEvaluation): parses journal entries
 * and offers them to the evaluator, so that neither the parse nor the rules hold up the event loop
 * that serves ingest. Answers each request with the rule facts or the matches.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { SigmaRule } from "../../sigma/index.js";
import { evaluateEntries, factsOf, type WorkerAnswer, type WorkerRequest } from "./sigma-evaluation.js";
import { SigmaEvaluator } from "./sigma-evaluator.js";

const port = parentPort!;
let pendingLog = "";
const evaluator = new SigmaEvaluator((workerData as { serverRules: SigmaRule[] }).serverRules, (line) => {
  pendingLog += line;
});

port.on("message", (request: WorkerRequest) => {
  let answer: WorkerAnswer;
  try {
    if (request.op === "evaluate")
      answer = { id: request.id, matches: evaluateEntries(evaluator, request.entries, request.nowMs) };
    else {
      if (request.op === "reset") evaluator.reset();
      else evaluator.setStoredRules(request.stored);
      answer = { id: request.id, facts: factsOf(evaluator) };
    }
  } catch (error) {
    answer = { id: request.id, error: error instanceof Error ? error.message : String(error) };
  }
  if (pendingLog !== "" && !("error" in answer)) {
    answer = { ...answer, log: pendingLog };
    pendingLog = "";
  }
  port.postMessage(answer);
});
