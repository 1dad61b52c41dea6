import { performance } from "node:perf_hooks";
import { offerPreparedRecord, prepareCloudTrailRecord } from "../src/event-patterns/index.js";
import { CompiledRules } from "../src/consumers/event-rules/compiled-rules.js";
import type { RuleWithTargets } from "../src/stores/event-rules/index.js";
import type { CloudTrailRecord } from "../src/model/record.js";
import { loadRuleFiles, SigmaEngine } from "../src/sigma/index.js";
import { ACTIVE_RULES_DIR, UNSUPPORTED_RULES_DIR } from "../test/helpers/sigma-rules.js";
import type { BenchRule } from "./detection-rules.js";
import { BENCH_ACCOUNT } from "./event-history-records.js";
import { BENCH_REGION } from "./server-process.js";

/**
 * Rule evaluation in process, one core: SigmaHQ's CloudTrail rules through `SigmaEngine.offer`
 * (live Sigma evaluation in the server is not there yet, so its cost is measured here and set
 * against the server's CPU per ingested event), and, beside it, what the EventBridge rule matcher
 * does per record (JSON.parse, the envelope, 100 patterns), for where the server's time goes.
 */
export interface InProcessEvaluation {
  readonly case: string;
  readonly rules: number;
  readonly records: number;
  readonly recordsPerSec: number;
  readonly microsPerRecord: number;
  /** Matches per 1,000 records (Sigma: rule matches; EventBridge: rule matches). */
  readonly matchesPer1000: number;
}

function timed(
  label: string,
  rules: number,
  jsons: readonly string[],
  offer: (json: string) => number,
): InProcessEvaluation {
  // A warm-up pass, so that the figure is the optimised code's.
  for (let i = 0; i < Math.min(jsons.length, 5_000); i++) offer(jsons[i]!);
  let matches = 0;
  const started = performance.now();
  for (const json of jsons) matches += offer(json);
  const seconds = (performance.now() - started) / 1000;
  return {
    case: label,
    rules,
    records: jsons.length,
    recordsPerSec: Math.round(jsons.length / seconds),
    microsPerRecord: Number(((seconds * 1e6) / jsons.length).toFixed(2)),
    matchesPer1000: Number(((matches * 1000) / jsons.length).toFixed(1)),
  };
}

/** Sigma over parsed records (as a consumer sharing the parse would), and with JSON.parse per record. */
export async function sigmaInProcess(jsons: readonly string[]): Promise<InProcessEvaluation[]> {
  const active = (await loadRuleFiles([ACTIVE_RULES_DIR])).rules;
  const all = (await loadRuleFiles([ACTIVE_RULES_DIR, UNSUPPORTED_RULES_DIR])).rules;
  const records = jsons.map((json) => JSON.parse(json) as unknown);
  const results: InProcessEvaluation[] = [];
  for (const [label, rules] of [
    ["active rules", active],
    ["active + unsupported (correlations)", all],
  ] as const) {
    const engine = new SigmaEngine(rules);
    let index = 0;
    const parsed = timed(
      `Sigma ${label}, record parsed`,
      engine.ruleCount,
      jsons,
      () => engine.offer(records[index++ % records.length]).length,
    );
    const fresh = new SigmaEngine(rules);
    results.push(
      parsed,
      timed(
        `Sigma ${label}, JSON.parse + offer`,
        fresh.ruleCount,
        jsons,
        (json) => fresh.offer(JSON.parse(json)).length,
      ),
    );
  }
  return results;
}

/**
 * The EventBridge matcher's per-record work over the bench's rules, as RuleMatcher.matches does it
 * (JSON.parse of the journal entry, the envelope, the record's scope and source, the patterns), with
 * the consumer's own CompiledRules.
 */
export async function eventBridgeInProcess(
  jsons: readonly string[],
  rules: readonly BenchRule[],
): Promise<InProcessEvaluation> {
  const active: RuleWithTargets[] = rules.map((rule) => ({
    rule: {
      arn: `arn:aws:events:${BENCH_REGION}:${BENCH_ACCOUNT}:rule/${rule.name}`,
      name: rule.name,
      accountId: BENCH_ACCOUNT,
      region: BENCH_REGION,
      eventPattern: JSON.stringify(rule.pattern),
      state: rule.state,
      createdAtMs: 0,
      updatedAtMs: 0,
      generation: 1,
    },
    targets: [],
  }));
  const compiled = new CompiledRules(
    { revision: () => Promise.resolve(1), activeRules: () => Promise.resolve(active) },
    (error) => {
      throw error;
    },
  );
  await compiled.refresh();
  return timed("EventBridge matcher: JSON.parse + envelope + patterns", rules.length, jsons, (json) => {
    const record = JSON.parse(json) as CloudTrailRecord;
    const scope = compiled.inScope(BENCH_ACCOUNT, BENCH_REGION);
    const prepared = prepareCloudTrailRecord(record, { sourceJsonLength: json.length });
    if (scope === undefined || prepared.envelope === undefined) return 0;
    let matches = 0;
    for (const { offer } of scope.forSource(prepared.envelope.source)) {
      const decision = offerPreparedRecord(prepared, offer);
      if (decision.offered && decision.matched) matches++;
    }
    return matches;
  });
}
