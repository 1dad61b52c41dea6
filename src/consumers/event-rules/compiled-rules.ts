import { compileEventPattern, exactStringsOf, type CloudTrailRule } from "../../event-patterns/index.js";
import type { EventRule, EventRuleStore, EventTarget } from "../../stores/event-rules/index.js";

/** An active rule with its pattern compiled, as the matcher offers records to it. */
export interface CompiledRule {
  readonly rule: EventRule;
  readonly targets: readonly EventTarget[];
  readonly offer: CloudTrailRule;
}

/**
 * One account's rules in one region, by the envelope `source` their patterns require: most rules
 * name it (`"source": ["aws.iam"]`), so a record meets only its service's rules and those that name
 * no source, not every rule of the account (bench/detection.ts: 100 rules).
 */
export class ScopeRules {
  private readonly bySource = new Map<string, CompiledRule[]>();
  /** Rules that do not tie `source` to exact values: offered every record. */
  private readonly anySource: CompiledRule[] = [];

  add(compiled: CompiledRule): void {
    const sources = exactStringsOf(compiled.offer.pattern, "source");
    if (sources === undefined) {
      this.anySource.push(compiled);
      for (const rules of this.bySource.values()) rules.push(compiled);
      return;
    }
    for (const source of new Set(sources)) {
      let rules = this.bySource.get(source);
      if (rules === undefined) this.bySource.set(source, (rules = [...this.anySource]));
      rules.push(compiled);
    }
  }

  /** The rules a record whose envelope has this `source` can match. */
  forSource(source: string): readonly CompiledRule[] {
    return this.bySource.get(source) ?? this.anySource;
  }
}

/**
 * The rules that are not DISABLED, compiled, by account and region; reloaded from the store only
 * when its revision moved (one cheap query per batch otherwise). A pattern that no longer compiles
 * (a rule written by a newer Cairn) is left out and reported, never a reason to stop the consumer.
 */
export class CompiledRules {
  private revision = -1;
  private byScope = new Map<string, ScopeRules>();
  private byTarget = new Map<string, { rule: EventRule; target: EventTarget }>();

  constructor(
    private readonly store: Pick<EventRuleStore, "revision" | "activeRules">,
    private readonly report: (error: unknown) => void,
  ) {}

  async refresh(): Promise<void> {
    const revision = await this.store.revision();
    if (revision === this.revision) return;
    const byScope = new Map<string, ScopeRules>();
    const byTarget = new Map<string, { rule: EventRule; target: EventTarget }>();
    for (const { rule, targets } of await this.store.activeRules()) {
      const compiled = this.compile(rule, targets);
      if (compiled === undefined) continue;
      const key = scopeKey(rule.accountId, rule.region);
      let scope = byScope.get(key);
      if (scope === undefined) byScope.set(key, (scope = new ScopeRules()));
      scope.add(compiled);
      for (const target of targets) byTarget.set(targetKey(rule.arn, target.id), { rule, target });
    }
    Object.assign(this, { revision, byScope, byTarget });
  }

  /** The account's rules in `region` (undefined: none); a record is only ever offered to those. */
  inScope(accountId: string, region: string): ScopeRules | undefined {
    return this.byScope.get(scopeKey(accountId, region));
  }

  /** The rule and target as they are now; undefined once the rule was disabled or deleted, or the target removed. */
  target(ruleArn: string, targetId: string): { rule: EventRule; target: EventTarget } | undefined {
    return this.byTarget.get(targetKey(ruleArn, targetId));
  }

  get size(): number {
    return this.byTarget.size;
  }

  private compile(rule: EventRule, targets: readonly EventTarget[]): CompiledRule | undefined {
    try {
      return { rule, targets, offer: { state: rule.state, pattern: compileEventPattern(rule.eventPattern) } };
    } catch (error) {
      this.report(
        new Error(`EventBridge rule ${rule.arn} is skipped: its pattern does not compile (${String(error)}).`),
      );
      return undefined;
    }
  }
}

function scopeKey(accountId: string, region: string): string {
  return `${accountId}/${region}`;
}

function targetKey(ruleArn: string, targetId: string): string {
  return `${ruleArn}\n${targetId}`;
}
