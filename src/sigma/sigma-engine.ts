import { CorrelationState } from "./correlation-state.js";
import { matchesDetection, RecordView } from "./evaluate-detection.js";
import { DetectionIndex } from "./rule-index.js";
import type { CorrelationRule, DetectionRule, RuleLoadError, SigmaRule } from "./sigma-rule.js";
import { matchedEventOf, type SigmaMatch } from "./sigma-match.js";

interface ActiveCorrelation {
  readonly rule: CorrelationRule;
  readonly state: CorrelationState;
  /** Detection rule id → its indexes in rule.rules. */
  readonly indexesOf: ReadonlyMap<string, readonly number[]>;
}

function namesOf(rule: SigmaRule): string[] {
  return rule.name !== undefined ? [rule.id, rule.name] : [rule.id];
}

/**
 * Sigma rules over CloudTrail records, offered one at a time (in eventTime order for
 * correlations). A consumer of the journal feeds it each record; `sigma test` feeds it files.
 *
 * @example
 * const engine = new SigmaEngine(loaded.rules);
 * for (const record of records) for (const match of engine.offer(record)) console.log(match.ruleId);
 * engine.flush(); // correlations whose windows are still open
 */
export class SigmaEngine {
  private readonly detections: DetectionRule[];
  private readonly index: DetectionIndex;
  /** Detection rules whose own matches are reported (not those only a correlation reads). */
  private readonly reported = new Set<string>();
  private readonly correlations: ActiveCorrelation[] = [];
  /** Correlations refused because a rule they name is missing or is itself a correlation. */
  readonly errors: RuleLoadError[] = [];

  constructor(rules: readonly SigmaRule[]) {
    this.detections = rules.filter((rule): rule is DetectionRule => rule.kind === "detection");
    this.index = new DetectionIndex(this.detections);
    const byName = new Map<string, SigmaRule>();
    for (const rule of rules) for (const name of namesOf(rule)) if (!byName.has(name)) byName.set(name, rule);
    for (const rule of this.detections) this.reported.add(rule.id);
    for (const rule of rules) if (rule.kind === "correlation") this.addCorrelation(rule, byName);
  }

  /** Rules that can match: detection rules and the correlations that resolved. */
  get ruleCount(): number {
    return this.detections.length + this.correlations.length;
  }

  private addCorrelation(rule: CorrelationRule, byName: ReadonlyMap<string, SigmaRule>): void {
    const indexesOf = new Map<string, number[]>();
    const ruleNames: string[][] = [];
    for (const [index, reference] of rule.rules.entries()) {
      const target = byName.get(reference);
      if (target === undefined || target.kind === "correlation") {
        const reason =
          target === undefined
            ? `correlation rule '${reference}' is not loaded (name it by id or name, in the same file or run)`
            : `correlation rule '${reference}' is itself a correlation: chained correlations are not supported`;
        this.errors.push({ source: rule.source, title: rule.title, id: rule.id, reason });
        return;
      }
      indexesOf.set(target.id, [...(indexesOf.get(target.id) ?? []), index]);
      ruleNames.push(namesOf(target));
    }
    if (!rule.generate) for (const id of indexesOf.keys()) this.reported.delete(id);
    this.correlations.push({ rule, state: new CorrelationState(rule, ruleNames), indexesOf });
  }

  /** Detection rules placed by the eventNames they require (the rest are tested on every record). */
  get indexedRuleCount(): number {
    return this.index.indexedCount;
  }

  /** Whether a detection rule's own matches are reported (not when only a correlation reads it). */
  reportsMatchesOf(ruleId: string): boolean {
    return this.reported.has(ruleId);
  }

  /** Each resolved correlation with the detection rules it reads (for evaluating it elsewhere). */
  correlationPlans(): { readonly rule: CorrelationRule; readonly bases: readonly DetectionRule[] }[] {
    return this.correlations.map(({ rule, indexesOf }) => ({
      rule,
      bases: this.detections.filter((detection) => indexesOf.has(detection.id)),
    }));
  }

  /** The matches this record makes: detection rules, then the correlations it completes. */
  offer(record: unknown): SigmaMatch[] {
    const event = matchedEventOf(record);
    const matched = new Set<string>();
    const out: SigmaMatch[] = [];
    const view = new RecordView(record);
    for (const rule of this.index.candidates(view)) {
      if (!matchesDetection(rule.detection, view)) continue;
      matched.add(rule.id);
      if (this.reported.has(rule.id))
        out.push({ ruleId: rule.id, title: rule.title, level: rule.level, kind: "detection", ...event });
    }
    if (matched.size === 0 || this.correlations.length === 0) return out;
    const timeMs = Date.parse(event.eventTime);
    // A record without a readable eventTime cannot be placed in a window.
    if (Number.isNaN(timeMs)) return out;
    for (const { state, indexesOf } of this.correlations) {
      const indexes = [...matched].flatMap((id) => indexesOf.get(id) ?? []);
      if (indexes.length > 0) out.push(...state.offer(indexes, record, timeMs, event));
    }
    return out;
  }

  /** Decides the correlation windows still open (at the end of a finite input). */
  flush(): SigmaMatch[] {
    return this.correlations.flatMap(({ state }) => state.flush());
  }
}
