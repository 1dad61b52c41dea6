import {
  refuse,
  type CorrelationRule,
  type CorrelationType,
  type CountBound,
  type CountOperator,
  type RuleSource,
} from "./sigma-rule.js";

export interface RuleHead {
  readonly id: string;
  readonly name?: string;
  readonly title: string;
  readonly level: string;
  readonly source: RuleSource;
}

const TYPES: readonly CorrelationType[] = ["event_count", "value_count", "temporal", "temporal_ordered"];
const COUNT_OPERATORS: readonly CountOperator[] = ["gt", "gte", "lt", "lte", "eq"];
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Correlation windows longer than this are refused: state is kept for a timespan. */
const TIMESPAN_MS_MAX = 30 * 86_400_000;
/** A count condition above this is refused: event_count keeps one timestamp per counted event. */
const COUNT_THRESHOLD_MAX = 10_000;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Sigma's timespan: a number and one of s, m, h, d (`90m`). */
export function parseTimespan(value: unknown, where: string): number {
  const match = typeof value === "string" ? /^(\d+)([smhd])$/.exec(value.trim()) : null;
  if (match === null) refuse(`${where} '${String(value)}' is not a timespan such as 30s, 5m, 1h or 2d`);
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  if (ms <= 0 || ms > TIMESPAN_MS_MAX) refuse(`${where} '${String(value)}' must be between 1s and 30d`);
  return ms;
}

function stringList(value: unknown, where: string): string[] {
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || !list.every((item) => typeof item === "string" && item !== ""))
    refuse(`${where} must be a list of names`);
  return list as string[];
}

function countCondition(condition: unknown, type: CorrelationType): { bounds: CountBound[]; field?: string } {
  if (condition === undefined && type.startsWith("temporal")) return { bounds: [] };
  if (!isObject(condition)) refuse("correlation.condition must be a map such as {gte: 10}");
  const bounds: CountBound[] = [];
  let field: string | undefined;
  for (const [key, value] of Object.entries(condition)) {
    if (key === "field" && typeof value === "string") field = value;
    else if (COUNT_OPERATORS.includes(key as CountOperator) && Number.isInteger(value) && (value as number) >= 0) {
      if ((value as number) > COUNT_THRESHOLD_MAX)
        refuse(`correlation.condition ${key}: ${String(value)} is above Cairn's limit of ${COUNT_THRESHOLD_MAX}`);
      bounds.push({ op: key as CountOperator, value: value as number });
    } else refuse(`correlation.condition '${key}: ${String(value)}' is not supported (gt, gte, lt, lte, eq, field)`);
  }
  if (bounds.length === 0) refuse("correlation.condition needs one of gt, gte, lt, lte, eq");
  if (type.startsWith("temporal") && bounds.some(({ op }) => op !== "gt" && op !== "gte"))
    refuse(`a ${type} correlation takes only gt or gte conditions`);
  if (type === "value_count" && field === undefined) refuse("a value_count correlation needs condition.field");
  return { bounds, ...(field !== undefined ? { field } : {}) };
}

function parseAliases(value: unknown): Map<string, Map<string, string>> {
  const aliases = new Map<string, Map<string, string>>();
  if (value === undefined) return aliases;
  if (!isObject(value)) refuse("correlation.aliases must be a map");
  for (const [alias, perRule] of Object.entries(value)) {
    if (!isObject(perRule)) refuse(`correlation.aliases.${alias} must map rule names to fields`);
    aliases.set(alias, new Map(Object.entries(perRule).map(([rule, field]) => [rule, String(field)])));
  }
  return aliases;
}

/** A Sigma correlation rule (`correlation:` section), checked; the rules it names are resolved later. */
export function parseCorrelation(section: unknown, head: RuleHead): CorrelationRule {
  if (!isObject(section)) refuse("the correlation section must be a map");
  const type = section["type"];
  if (!TYPES.includes(type as CorrelationType))
    refuse(`correlation type '${String(type)}' is not supported (${TYPES.join(", ")})`);
  const { bounds, field } = countCondition(section["condition"], type as CorrelationType);
  const generate = section["generate"] ?? false;
  if (typeof generate !== "boolean") refuse("correlation.generate must be true or false");
  return {
    kind: "correlation",
    ...head,
    type: type as CorrelationType,
    rules: stringList(section["rules"], "correlation.rules"),
    groupBy: section["group-by"] === undefined ? [] : stringList(section["group-by"], "correlation.group-by"),
    timespanMs: parseTimespan(section["timespan"] ?? section["timeframe"], "correlation.timespan"),
    condition: bounds,
    ...(field !== undefined ? { field } : {}),
    aliases: parseAliases(section["aliases"]),
    generate,
  };
}
