import { parseAllDocuments } from "yaml";
import { compileFieldEntry } from "./compile-field.js";
import { parseCondition } from "./condition.js";
import { parseCorrelation, parseTimespan, type RuleHead } from "./parse-correlation.js";
import type { DetectionNode } from "./sigma-ast.js";
import {
  refuse,
  SigmaRuleRefused,
  type CountOperator,
  type RuleLoadError,
  type RuleSource,
  type SigmaRule,
} from "./sigma-rule.js";

/** A rule file at most this long is read; Sigma rules are a few KB. */
export const RULE_FILE_BYTES_MAX = 1_048_576;

export interface ParsedRules {
  readonly rules: SigmaRule[];
  readonly errors: RuleLoadError[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

/** The part of a rule every kind shares: id, name, title, level. */
function ruleHead(document: Record<string, unknown>, source: RuleSource): RuleHead {
  const title = text(document["title"]);
  if (title === undefined) refuse("the rule has no title");
  const name = text(document["name"]);
  const id = text(document["id"]) ?? name ?? `${source.file}#${source.document}`;
  const level = text(document["level"]) ?? "medium";
  return { id, title, level, source, ...(name !== undefined ? { name } : {}) };
}

function checkLogsource(logsource: unknown): void {
  if (!isObject(logsource)) refuse("the rule has no logsource (Cairn evaluates product: aws, service: cloudtrail)");
  const product = String(logsource["product"] ?? "").toLowerCase();
  const service = String(logsource["service"] ?? "").toLowerCase();
  if (product !== "aws" || service !== "cloudtrail")
    refuse(
      `logsource product '${String(logsource["product"] ?? "")}' service '${String(logsource["service"] ?? "")}' ` +
        "is not CloudTrail (Cairn evaluates product: aws, service: cloudtrail)",
    );
}

/** A search identifier's definition: a map (AND), a list of maps (OR), or keywords (OR). */
function compileSearch(name: string, definition: unknown): DetectionNode {
  if (isObject(definition)) {
    const children = Object.entries(definition).map(([key, value]) => compileFieldEntry(key, value));
    return children.length === 1 ? children[0]! : { kind: "and", children };
  }
  const items = Array.isArray(definition) ? (definition as unknown[]) : [definition];
  if (items.length === 0) refuse(`search '${name}' is empty`);
  const children = items.map((item) => {
    if (isObject(item)) return compileSearch(name, item);
    if (Array.isArray(item) || item === null || item === undefined) refuse(`search '${name}' has a nested list`);
    return compileFieldEntry("", item);
  });
  return children.length === 1 ? children[0]! : { kind: "or", children };
}

interface Aggregation {
  readonly expression: string;
  readonly field?: string;
  readonly groupBy?: string;
  readonly op: CountOperator;
  readonly value: number;
}

const OPERATORS: Record<string, CountOperator> = {
  ">": "gt",
  ">=": "gte",
  "<": "lt",
  "<=": "lte",
  "=": "eq",
  "==": "eq",
};

/** Sigma 1's `search | count([field]) [by field] op N`, which Cairn runs as a correlation. */
function splitAggregation(condition: string): Aggregation | undefined {
  const pipe = condition.indexOf("|");
  if (pipe === -1) return undefined;
  const expression = condition.slice(0, pipe).trim();
  const tail = condition.slice(pipe + 1).trim();
  if (/^near\b/i.test(tail))
    refuse("the Sigma 1 'near' aggregation is not supported: write it as a temporal correlation rule");
  const match = /^count\(\s*([\w.]*)\s*\)(?:\s+by\s+([\w.]+))?\s*(>=|<=|==|=|>|<)\s*(\d+)$/i.exec(tail);
  if (match === null)
    refuse(`aggregation '| ${tail}' is not supported (Cairn reads '| count([field]) [by field] <op> N')`);
  return {
    expression,
    ...(match[1] !== "" ? { field: match[1]! } : {}),
    ...(match[2] !== undefined ? { groupBy: match[2] } : {}),
    op: OPERATORS[match[3]!]!,
    value: Number(match[4]),
  };
}

function conditionText(condition: unknown): string {
  if (typeof condition === "string") return condition;
  if (Array.isArray(condition) && condition.length > 0 && condition.every((c) => typeof c === "string"))
    return condition.map((c) => `(${c as string})`).join(" or ");
  return refuse("detection.condition must be a string or a list of strings");
}

interface CompiledDetection {
  readonly node: DetectionNode;
  readonly aggregation?: Aggregation;
  readonly timeframe?: unknown;
}

function compileDetection(detection: unknown): CompiledDetection {
  if (!isObject(detection)) refuse("the rule has no detection");
  const searches = new Map<string, DetectionNode>();
  for (const [name, definition] of Object.entries(detection)) {
    if (name === "condition" || name === "timeframe") continue;
    searches.set(name, compileSearch(name, definition));
  }
  const condition = conditionText(detection["condition"]);
  const aggregation = splitAggregation(condition);
  const node = parseCondition(aggregation?.expression ?? condition, searches);
  return { node, ...(aggregation !== undefined ? { aggregation } : {}), timeframe: detection["timeframe"] };
}

function detectionRules(document: Record<string, unknown>, head: RuleHead): SigmaRule[] {
  checkLogsource(document["logsource"]);
  const { node, aggregation, timeframe } = compileDetection(document["detection"]);
  if (aggregation === undefined) {
    if (timeframe !== undefined)
      refuse(
        "detection.timeframe without an aggregation: one record cannot span a time frame " +
          "(the rule needs a temporal correlation; SigmaHQ marks such rules unsupported)",
      );
    return [{ kind: "detection", ...head, detection: node }];
  }
  if (timeframe === undefined) refuse("an aggregation (| count()) needs a detection.timeframe");
  // The search becomes a rule of its own, known by id only: a name would collide with the rule's.
  const { name: _name, ...unnamed } = head;
  const base = { kind: "detection" as const, ...unnamed, id: `${head.id}#events`, detection: node };
  return [
    base,
    {
      kind: "correlation",
      ...head,
      type: aggregation.field !== undefined ? "value_count" : "event_count",
      rules: [base.id],
      groupBy: aggregation.groupBy !== undefined ? [aggregation.groupBy] : [],
      timespanMs: parseTimespan(timeframe, "detection.timeframe"),
      condition: [{ op: aggregation.op, value: aggregation.value }],
      ...(aggregation.field !== undefined ? { field: aggregation.field } : {}),
      aliases: new Map(),
      generate: false,
    },
  ];
}

function documentRules(document: unknown, source: RuleSource): SigmaRule[] {
  if (!isObject(document)) refuse("the YAML document is not a map");
  if (document["action"] !== undefined)
    refuse(`'action: ${String(document["action"])}' documents (Sigma 1 rule collections) are not supported`);
  const head = ruleHead(document, source);
  if (document["correlation"] !== undefined) return [parseCorrelation(document["correlation"], head)];
  return detectionRules(document, head);
}

/**
 * Parses a Sigma file's YAML documents (rules and correlation rules). Never throws for a bad rule:
 * each refused document is an error with its reason, and the other documents still load.
 *
 * @example parseRuleFile("rules/a.yml", text) // { rules: [{ kind: "detection", id, title, … }], errors: [] }
 */
export function parseRuleFile(file: string, yamlText: string): ParsedRules {
  const rules: SigmaRule[] = [];
  const errors: RuleLoadError[] = [];
  const documents = parseAllDocuments(yamlText, { prettyErrors: false });
  const list = Array.isArray(documents) ? documents : [documents];
  list.forEach((document, index) => {
    const source = { file, document: index };
    if (document.errors.length > 0) {
      errors.push({ source, reason: `not valid YAML: ${document.errors[0]!.message}` });
      return;
    }
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    try {
      rules.push(...documentRules(value, source));
    } catch (error) {
      if (!(error instanceof SigmaRuleRefused)) throw error;
      const doc = isObject(value) ? value : {};
      errors.push({
        source,
        reason: error.message,
        ...(text(doc["title"]) !== undefined ? { title: text(doc["title"])! } : {}),
        ...(text(doc["id"]) !== undefined ? { id: text(doc["id"])! } : {}),
      });
    }
  });
  return { rules, errors };
}
