import type { DetectionNode } from "./sigma-ast.js";
import type { DetectionRule } from "./sigma-rule.js";
import type { RecordView } from "./evaluate-detection.js";

const EVENT_NAME = ["eventName"];

/**
 * The lower-cased eventNames a record must have for `node` to match it, when the detection says so
 * (`eventName: X`, `eventName: [X, Y]`, in an AND or in every branch of an OR); undefined when it
 * does not (a wildcard, a `not`, a keyword search). Only ever a necessary condition.
 */
function requiredEventNames(node: DetectionNode): Set<string> | undefined {
  switch (node.kind) {
    case "field": {
      if (node.path.length !== 1 || node.path[0] !== "eventName") return undefined;
      const { test } = node;
      if (test.kind !== "pattern" || test.cased || test.parts.length !== 1) return undefined;
      const part = test.parts[0]!;
      if (!("literal" in part) || part.literal.toLowerCase().length !== part.literal.length) return undefined;
      return new Set([part.literal.toLowerCase()]);
    }
    case "and": {
      let out: Set<string> | undefined;
      for (const child of node.children) {
        const names = requiredEventNames(child);
        if (names !== undefined) out = out === undefined ? names : new Set([...out].filter((name) => names.has(name)));
      }
      return out;
    }
    case "or": {
      const out = new Set<string>();
      for (const child of node.children) {
        const names = requiredEventNames(child);
        if (names === undefined) return undefined;
        for (const name of names) out.add(name);
      }
      return out;
    }
    case "constant":
      return node.value ? undefined : new Set();
    default:
      return undefined;
  }
}

/**
 * Detection rules indexed by the eventNames they require, so that a record is tested against the
 * rules that can match its eventName and those the index cannot place (most SigmaHQ CloudTrail rules
 * name their eventNames literally). Candidates come back in the rules' own order.
 */
export class DetectionIndex {
  private readonly byName = new Map<string, number[]>();
  private readonly unindexed: number[] = [];

  constructor(private readonly rules: readonly DetectionRule[]) {
    for (const [index, rule] of rules.entries()) {
      const names = requiredEventNames(rule.detection);
      if (names === undefined) this.unindexed.push(index);
      else for (const name of names) this.byName.set(name, [...(this.byName.get(name) ?? []), index]);
    }
  }

  /** How many rules the index places by eventName (for `sigma` health and the bench). */
  get indexedCount(): number {
    return this.rules.length - this.unindexed.length;
  }

  candidates(view: RecordView): readonly DetectionRule[] {
    const names = view.loweredAt(EVENT_NAME);
    // A record with no eventName or several is tested against every rule.
    if (names.length !== 1) return this.rules;
    const named = this.byName.get(names[0]!);
    if (named === undefined) return this.unindexed.map((index) => this.rules[index]!);
    if (this.unindexed.length === 0) return named.map((index) => this.rules[index]!);
    return [...named, ...this.unindexed].sort((a, b) => a - b).map((index) => this.rules[index]!);
  }
}
