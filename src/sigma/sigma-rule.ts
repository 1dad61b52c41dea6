import type { DetectionNode } from "./sigma-ast.js";

/** Where a rule came from: the file (as given) and the YAML document's index in it (0-based). */
export interface RuleSource {
  readonly file: string;
  readonly document: number;
}

interface RuleMeta {
  /** The rule's `id`, else its `name`, else `<file>#<document>`: what matches name as `ruleId`. */
  readonly id: string;
  readonly name?: string;
  readonly title: string;
  readonly level: string;
  readonly source: RuleSource;
}

/** A single-event Sigma rule over CloudTrail records. */
export interface DetectionRule extends RuleMeta {
  readonly kind: "detection";
  readonly detection: DetectionNode;
}

export type CorrelationType = "event_count" | "value_count" | "temporal" | "temporal_ordered";
export type CountOperator = "gt" | "gte" | "lt" | "lte" | "eq";

export interface CountBound {
  readonly op: CountOperator;
  readonly value: number;
}

/** A correlation over the matches of other rules (Sigma correlation rules, or a Sigma 1 `| count()`). */
export interface CorrelationRule extends RuleMeta {
  readonly kind: "correlation";
  readonly type: CorrelationType;
  /** Ids or names of the rules it correlates, as written. */
  readonly rules: readonly string[];
  readonly groupBy: readonly string[];
  readonly timespanMs: number;
  /** All must hold (`gt: 100, lte: 200` is a range). Empty for temporal: every rule must match. */
  readonly condition: readonly CountBound[];
  /** value_count: the field whose distinct values are counted. */
  readonly field?: string;
  /** alias → rule name or id → field path, for group-by. */
  readonly aliases: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Whether the correlated rules also report their own matches (Sigma's default: no). */
  readonly generate: boolean;
}

export type SigmaRule = DetectionRule | CorrelationRule;

/** A rule document that was refused, with the reason (naming the feature when one is unsupported). */
export interface RuleLoadError {
  readonly source: RuleSource;
  readonly title?: string;
  readonly id?: string;
  readonly reason: string;
}

/** Thrown while compiling one rule document; the loader turns it into a RuleLoadError. */
export class SigmaRuleRefused extends Error {}

export function refuse(reason: string): never {
  throw new SigmaRuleRefused(reason);
}
