import { createHash } from "node:crypto";
import { textsAt } from "./record-values.js";
import type { CorrelationRule, CountBound } from "./sigma-rule.js";
import { CORRELATION_EVENTS_MAX, type MatchedEvent, type SigmaMatch } from "./sigma-match.js";

/** Groups one correlation keeps at most; the least recently active one is dropped beyond. */
export const CORRELATION_GROUPS_MAX = 10_000;
/** Timestamps, distinct values and steps one correlation keeps at most, over all its groups. */
export const CORRELATION_ENTRIES_MAX = 1_000_000;
/** Longer group-by and distinct values are kept as their SHA-256, so an entry stays small. */
const VALUE_CHARS_MAX = 256;

function boundedText(text: string): string {
  return text.length <= VALUE_CHARS_MAX ? text : `sha256:${createHash("sha256").update(text).digest("hex")}`;
}

function entriesOf(group: Group): number {
  return group.times.length + group.distinct.size + group.steps.size;
}

interface Group {
  readonly values: Record<string, string>;
  /** Last time (eventTime, ms) the group was updated. */
  lastMs: number;
  /** Tumbling windows (conditions with an upper bound): when the current window began. */
  windowStartMs: number;
  /** event_count (sliding): the times of the counted events. */
  times: number[];
  /** value_count: distinct value → last time seen. */
  distinct: Map<string, number>;
  /** temporal: rule index → last time seen; temporal_ordered: rule index → start of the chain. */
  steps: Map<number, number>;
  /** tumbling event_count: how many events in the window. */
  count: number;
  events: MatchedEvent[];
}

function satisfies(bounds: readonly CountBound[], count: number): boolean {
  return bounds.every(({ op, value }) =>
    op === "gt"
      ? count > value
      : op === "gte"
        ? count >= value
        : op === "lt"
          ? count < value
          : op === "lte"
            ? count <= value
            : count === value,
  );
}

/**
 * The running state of one correlation rule over records offered in eventTime order. Memory is
 * bounded: at most CORRELATION_GROUPS_MAX groups and CORRELATION_ENTRIES_MAX entries in all (a
 * group holds at most threshold + 1 timestamps or distinct values, or one step per correlated rule),
 * the least recently active groups dropped beyond; values of at most VALUE_CHARS_MAX characters
 * (longer ones as their hash); CORRELATION_EVENTS_MAX event references per group. Groups idle for
 * a timespan are dropped.
 *
 * A condition with only lower bounds (gt, gte) fires as soon as it holds in a sliding window of the
 * timespan, then the group starts over. One with an upper bound (lt, lte, eq) can only be decided
 * when the window ends: windows then start at a group's first record and are decided at the group's
 * first record past the window, when the group goes idle, or at flush().
 */
export class CorrelationState {
  private readonly groups = new Map<string, Group>();
  private readonly tumbling: boolean;
  /** Timestamps, distinct values and steps held by all groups (bounded by CORRELATION_ENTRIES_MAX). */
  private entries = 0;
  private nowMs = -Infinity;
  /** Groups dropped at the bounds (their partial counts are lost). */
  evictedGroups = 0;

  constructor(
    private readonly rule: CorrelationRule,
    /** For each correlated rule (by index in rule.rules): the names it answers to, for aliases. */
    private readonly ruleNames: readonly (readonly string[])[],
  ) {
    this.tumbling = rule.condition.some(({ op }) => op === "lt" || op === "lte" || op === "eq");
  }

  /** A record matched the correlated rules at these indexes; returns the matches it completes. */
  offer(ruleIndexes: readonly number[], record: unknown, timeMs: number, event: MatchedEvent): SigmaMatch[] {
    const out: SigmaMatch[] = [];
    this.nowMs = Math.max(this.nowMs, timeMs);
    this.sweep(out);
    const key = this.groupKey(ruleIndexes[0]!, record);
    let group = this.groups.get(key.text);
    if (group !== undefined && this.tumbling && timeMs > group.windowStartMs + this.rule.timespanMs) {
      this.close(group, out);
      group = undefined;
    }
    group ??= this.newGroup(key.values, timeMs);
    // Re-inserted, so the map stays in order of last activity (the front is the first to drop).
    this.groups.delete(key.text);
    this.groups.set(key.text, group);
    const entriesBefore = entriesOf(group);
    group.lastMs = Math.max(group.lastMs, timeMs);
    group.events.push(event);
    if (group.events.length > CORRELATION_EVENTS_MAX) group.events.shift();
    const fired = this.update(group, ruleIndexes, record, timeMs);
    this.entries += entriesOf(group) - entriesBefore;
    if (fired) {
      out.push(this.matchOf(group, event));
      this.drop(key.text);
    }
    this.evictBeyondBound();
    return out;
  }

  /** Decides every open window (end of input). */
  flush(): SigmaMatch[] {
    const out: SigmaMatch[] = [];
    for (const group of this.groups.values()) if (this.tumbling) this.close(group, out);
    this.groups.clear();
    this.entries = 0;
    return out;
  }

  private update(group: Group, ruleIndexes: readonly number[], record: unknown, timeMs: number): boolean {
    const { rule } = this;
    const horizon = timeMs - rule.timespanMs;
    switch (rule.type) {
      case "event_count":
        if (this.tumbling) {
          group.count++;
          return false;
        }
        group.times.push(timeMs);
        while (group.times.length > 0 && group.times[0]! < horizon) group.times.shift();
        return satisfies(rule.condition, group.times.length);
      case "value_count":
        return this.updateDistinct(group, record, timeMs, horizon);
      case "temporal":
        for (const index of ruleIndexes) group.steps.set(index, timeMs);
        for (const [index, seenMs] of group.steps) if (seenMs < horizon) group.steps.delete(index);
        return rule.condition.length === 0
          ? group.steps.size === rule.rules.length
          : satisfies(rule.condition, group.steps.size);
      case "temporal_ordered":
        return this.updateOrdered(group, ruleIndexes, timeMs, horizon);
    }
  }

  private updateDistinct(group: Group, record: unknown, timeMs: number, horizon: number): boolean {
    const { rule } = this;
    const values = textsAt(record, (rule.field ?? "").split("."));
    const cap = Math.max(...rule.condition.map(({ value }) => value)) + 1;
    for (const value of values) {
      group.distinct.delete(boundedText(value));
      if (group.distinct.size < cap) group.distinct.set(boundedText(value), timeMs);
    }
    if (this.tumbling) return false;
    for (const [value, seenMs] of group.distinct) {
      if (seenMs >= horizon) break;
      group.distinct.delete(value);
    }
    return satisfies(rule.condition, group.distinct.size);
  }

  /** steps: index → start time of the newest chain that reached this step in order. */
  private updateOrdered(group: Group, ruleIndexes: readonly number[], timeMs: number, horizon: number): boolean {
    const last = this.rule.rules.length - 1;
    // Highest step first, so one record does not complete two consecutive steps by itself.
    for (const index of [...ruleIndexes].sort((a, b) => b - a)) {
      if (index === 0) group.steps.set(0, timeMs);
      else {
        const start = group.steps.get(index - 1);
        if (start !== undefined && start >= horizon) group.steps.set(index, start);
      }
    }
    const done = group.steps.get(last);
    return done !== undefined && done >= horizon;
  }

  private close(group: Group, out: SigmaMatch[]): void {
    const count = this.rule.type === "value_count" ? group.distinct.size : group.count;
    const lastEvent = group.events[group.events.length - 1];
    if (lastEvent !== undefined && satisfies(this.rule.condition, count)) out.push(this.matchOf(group, lastEvent));
    this.drop(JSON.stringify(Object.values(group.values)));
  }

  private sweep(out: SigmaMatch[]): void {
    const idleBefore = this.nowMs - this.rule.timespanMs;
    for (const [key, group] of this.groups) {
      if (group.lastMs >= idleBefore) break;
      if (this.tumbling) this.close(group, out);
      this.drop(key);
    }
  }

  private evictBeyondBound(): void {
    while (this.groups.size > CORRELATION_GROUPS_MAX || this.entries > CORRELATION_ENTRIES_MAX) {
      this.drop(this.groups.keys().next().value as string);
      this.evictedGroups++;
    }
  }

  private drop(key: string): void {
    const group = this.groups.get(key);
    if (group === undefined) return;
    this.entries -= entriesOf(group);
    this.groups.delete(key);
  }

  private groupKey(ruleIndex: number, record: unknown): { text: string; values: Record<string, string> } {
    const values: Record<string, string> = {};
    for (const field of this.rule.groupBy) {
      const aliases = this.rule.aliases.get(field);
      const names = this.ruleNames[ruleIndex] ?? [];
      const actual = names.map((name) => aliases?.get(name)).find((path) => path !== undefined) ?? field;
      values[field] = boundedText(textsAt(record, actual.split(".")).join(","));
    }
    return { text: JSON.stringify(Object.values(values)), values };
  }

  private newGroup(values: Record<string, string>, timeMs: number): Group {
    return {
      values,
      lastMs: timeMs,
      windowStartMs: timeMs,
      times: [],
      distinct: new Map(),
      steps: new Map(),
      count: 0,
      events: [],
    };
  }

  private matchOf(group: Group, event: MatchedEvent): SigmaMatch {
    const { rule } = this;
    return {
      ruleId: rule.id,
      title: rule.title,
      level: rule.level,
      kind: "correlation",
      ...event,
      events: [...group.events],
      ...(rule.groupBy.length > 0 ? { groupBy: { ...group.values } } : {}),
    };
  }
}
