import type { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import type { ClientSettings } from "../../client/client-settings.js";
import {
  detectionLakeQuery,
  inEventTimeOrder,
  loadRuleFiles,
  SigmaEngine,
  type DetectionRule,
  type SigmaMatch,
} from "../../sigma/index.js";
import { systemClock } from "../../lib/clock.js";
import type { Output } from "../output.js";
import { parseTimeArgument } from "../time-argument.js";
import { UsageError } from "../usage-error.js";
import { cloudTrailClient, fetchQueryRows } from "./query.js";
import { formatMatch, writeLoadErrors } from "./sigma-output.js";

export interface SigmaRunOptions {
  readonly client: ClientSettings;
  readonly rulePaths: readonly string[];
  readonly eventDataStore: string;
  /** `--start-time`/`--end-time` as given (parseTimeArgument's forms). */
  readonly startTime?: string;
  readonly endTime?: string;
  readonly nowMs?: number;
  readonly json: boolean;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly pollMs?: number;
}

const EVENT_DATA_STORE =
  /^(arn:aws:cloudtrail:[a-z0-9-]+:\d{12}:eventdatastore\/)?[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$/;

interface RuleRows {
  readonly rule: DetectionRule;
  /** eventID, the record's eventTime, and the record (JSON text) when a correlation reads the rule. */
  readonly rows: string[][];
}

/** A time flag as a Lake timestamp literal, `YYYY-MM-DD HH:MM:SS` (UTC). */
function lakeTime(flag: string, text: string, nowMs: number): string {
  try {
    return parseTimeArgument(text, nowMs).toISOString().slice(0, 19).replace("T", " ");
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
}

function timeMs(text: string): number {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/** Runs each needed detection rule's query; rules that cannot be translated are reported and skipped. */
async function queryRules(
  client: CloudTrailClient,
  rules: readonly DetectionRule[],
  needsRecord: ReadonlySet<string>,
  options: SigmaRunOptions,
): Promise<Map<string, RuleRows>> {
  const results = new Map<string, RuleRows>();
  const nowMs = options.nowMs ?? systemClock.nowMs();
  const startTime = options.startTime === undefined ? undefined : lakeTime("--start-time", options.startTime, nowMs);
  const endTime = options.endTime === undefined ? undefined : lakeTime("--end-time", options.endTime, nowMs);
  for (const rule of rules) {
    const translation = detectionLakeQuery(rule, {
      eventDataStore: options.eventDataStore,
      ...(startTime !== undefined ? { startTime } : {}),
      ...(endTime !== undefined ? { endTime } : {}),
      withRecord: needsRecord.has(rule.id),
    });
    if (!translation.ok) {
      options.stderr.write(
        `${rule.source.file}: '${rule.title}' cannot be translated to Lake SQL: ${translation.reason}\n`,
      );
      continue;
    }
    const { rows } = await fetchQueryRows(client, translation.sql, options.pollMs);
    results.set(rule.id, { rule, rows });
  }
  return results;
}

/** A correlation over the Lake: its rules' matching records, in eventTime order, through an engine. */
function correlationMatches(engine: SigmaEngine, results: ReadonlyMap<string, RuleRows>): SigmaMatch[] {
  const out: SigmaMatch[] = [];
  for (const { rule, bases } of engine.correlationPlans()) {
    if (!bases.every((base) => results.has(base.id))) continue;
    const records = new Map<string, unknown>();
    for (const base of bases)
      for (const row of results.get(base.id)!.rows) records.set(row[2] ?? "", JSON.parse(row[2] ?? "null"));
    const ordered = inEventTimeOrder([...records.values()]);
    const local = new SigmaEngine([rule, ...bases]);
    for (const record of ordered) out.push(...local.offer(record).filter((match) => match.kind === "correlation"));
    out.push(...local.flush());
  }
  return out;
}

/**
 * `cairn sigma run RULES… --event-data-store ID`: each detection rule becomes one Lake query (run
 * with StartQuery/GetQueryResults); correlations are evaluated over the rows of the rules they
 * read, in eventTime order, as `sigma test` evaluates them. Prints the matches as `sigma test`
 * does, oldest first. Returns the exit code: 1 when no rule could be run.
 */
export async function runSigmaRun(options: SigmaRunOptions): Promise<number> {
  // The id goes into each statement's FROM: only an id or ARN, never SQL text.
  if (!EVENT_DATA_STORE.test(options.eventDataStore))
    throw new UsageError("--event-data-store: must be an event data store id or ARN");
  const { rules, errors } = await loadRuleFiles(options.rulePaths);
  const engine = new SigmaEngine(rules);
  writeLoadErrors([...errors, ...engine.errors], options.json, options.stderr);
  const plans = engine.correlationPlans();
  const needsRecord = new Set(plans.flatMap(({ bases }) => bases.map((base) => base.id)));
  const detections = rules.filter(
    (rule): rule is DetectionRule =>
      rule.kind === "detection" && (engine.reportsMatchesOf(rule.id) || needsRecord.has(rule.id)),
  );
  const client = cloudTrailClient(options.client);
  try {
    const results = await queryRules(client, detections, needsRecord, options);
    const matches: SigmaMatch[] = [];
    for (const { rule, rows } of results.values()) {
      if (!engine.reportsMatchesOf(rule.id)) continue;
      for (const [eventID = "", eventTime = ""] of rows)
        matches.push({ ruleId: rule.id, title: rule.title, level: rule.level, kind: "detection", eventID, eventTime });
    }
    matches.push(...correlationMatches(engine, results));
    // Stable: per rule in rule order, each rule's rows oldest first.
    matches.sort((a, b) => timeMs(a.eventTime) - timeMs(b.eventTime));
    for (const match of matches) options.stdout.write(formatMatch(match, options.json));
    return results.size === 0 && detections.length > 0 ? 1 : engine.ruleCount === 0 ? 1 : 0;
  } finally {
    client.destroy();
  }
}
