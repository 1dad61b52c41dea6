import { ApiError } from "../../lib/api-error.js";
import type { EventRule, RuleState } from "../../stores/event-rules/index.js";
import type { OperationContext } from "../operation.js";
import { enumString, optionalString, pageAfter, pageLimit, pageOf } from "./events-input.js";
import {
  assertDefaultBus,
  bound,
  limitExceeded,
  nameOf,
  namedResource,
  NO_RESOURCE,
  read,
  resourceArn,
  ruleNotFound,
  scopeOf,
  written,
  type EventsDependencies,
  type EventsOperation,
} from "./events-operation.js";
import { compilePattern, EVENT_PATTERN_LENGTH_MAX } from "./test-event-pattern.js";

const RULE_STATES: readonly RuleState[] = ["ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"];
/** EventBridge's quota of rules per event bus (adjustable there; fixed here). */
const RULES_PER_BUS_MAX = 300;

/** The rule ARN on the default bus: arn:aws:events:<region>:<account>:rule/<name>. */
const ruleResource = namedResource("rule", "Name");

function ruleArnOf(context: OperationContext, name: string): string {
  return resourceArn(scopeOf(context), "rule", name);
}

/** A rule as DescribeRule and ListRules show it. */
function ruleOutput(rule: EventRule): Record<string, unknown> {
  return {
    Name: rule.name,
    Arn: rule.arn,
    EventPattern: rule.eventPattern,
    State: rule.state,
    ...(rule.description !== undefined ? { Description: rule.description } : {}),
    ...(rule.roleArn !== undefined ? { RoleArn: rule.roleArn } : {}),
    EventBusName: "default",
  };
}

/** The pattern PutRule is given; a schedule is refused because nothing on Cairn would run it. */
function patternOf(input: Record<string, unknown>): string {
  if (optionalString(input, "ScheduleExpression", { max: 256 }) !== undefined) {
    throw new ApiError(
      "ValidationException",
      "Cairn does not run scheduled rules: ScheduleExpression is not supported. Give an EventPattern instead.",
    );
  }
  const pattern = optionalString(input, "EventPattern", { max: EVENT_PATTERN_LENGTH_MAX });
  if (pattern === undefined) {
    throw new ApiError("ValidationException", "Parameter(s) EventPattern or ScheduleExpression must be specified.");
  }
  compilePattern(pattern);
  return pattern;
}

async function putRule(deps: EventsDependencies, input: Record<string, unknown>, context: OperationContext) {
  const name = nameOf(input);
  assertDefaultBus(input, scopeOf(context));
  const eventPattern = patternOf(input);
  const state = enumString(input, "State", RULE_STATES, false) ?? "ENABLED";
  const description = optionalString(input, "Description", { max: 512 });
  const roleArn = optionalString(input, "RoleArn", { min: 1, max: 1600 });
  if (input["Tags"] !== undefined && input["Tags"] !== null) {
    throw new ApiError("ValidationException", "Cairn does not keep tags on rules: call PutRule without Tags.");
  }
  const arn = ruleArnOf(context, name);
  const exists = (await deps.store.getRule(arn)) !== undefined;
  if (!exists && (await deps.store.countRules(scopeOf(context))) >= RULES_PER_BUS_MAX) throw limitExceeded();
  const definition = { ...scopeOf(context), arn, name, eventPattern, state };
  await deps.store.putRule(
    {
      ...definition,
      ...(description !== undefined ? { description } : {}),
      ...(roleArn !== undefined ? { roleArn } : {}),
    },
    context.nowMs,
  );
  return written({ RuleArn: arn });
}

async function describeRule(deps: EventsDependencies, input: Record<string, unknown>, context: OperationContext) {
  const name = nameOf(input);
  assertDefaultBus(input, scopeOf(context));
  const rule = await deps.store.getRule(ruleArnOf(context, name));
  if (rule === undefined) throw ruleNotFound(name);
  // Rules made on Cairn are the caller's own: CreatedBy is the account, as for a rule made in it.
  return read({ ...ruleOutput(rule), CreatedBy: rule.accountId });
}

async function listRules(deps: EventsDependencies, input: Record<string, unknown>, context: OperationContext) {
  const prefix = optionalString(input, "NamePrefix", { min: 1, max: 64 });
  assertDefaultBus(input, scopeOf(context));
  const limit = pageLimit(input);
  const afterName = pageAfter(input);
  const rows = await deps.store.listRules(scopeOf(context), {
    ...(prefix !== undefined ? { prefix } : {}),
    ...(afterName !== undefined ? { afterName } : {}),
    limit: limit + 1,
  });
  const page = pageOf(rows, limit, (rule) => rule.name);
  return read({
    Rules: page.items.map((rule) => ruleOutput(rule)),
    ...(page.next !== undefined ? { NextToken: page.next } : {}),
  });
}

/** DeleteRule: refused while the rule has targets; a rule that does not exist is no error (as EventBridge). */
async function deleteRule(deps: EventsDependencies, input: Record<string, unknown>, context: OperationContext) {
  const name = nameOf(input);
  assertDefaultBus(input, scopeOf(context));
  // Force concerns rules an AWS service manages; Cairn has none, so it changes nothing here.
  const outcome = await deps.store.deleteRule(ruleArnOf(context, name));
  if (outcome === "has-targets")
    throw new ApiError("ValidationException", "Rule can't be deleted since it has targets.");
  return written({});
}

function setState(state: "ENABLED" | "DISABLED") {
  return async (deps: EventsDependencies, input: Record<string, unknown>, context: OperationContext) => {
    const name = nameOf(input);
    assertDefaultBus(input, scopeOf(context));
    if (!(await deps.store.setRuleState(ruleArnOf(context, name), state, context.nowMs))) throw ruleNotFound(name);
    return written({});
  };
}

/** PutRule, DescribeRule, ListRules, DeleteRule, EnableRule, DisableRule on the default bus. */
export function ruleOperations(deps: EventsDependencies): Record<string, EventsOperation> {
  return {
    PutRule: bound(deps, putRule, ruleResource),
    DescribeRule: bound(deps, describeRule, ruleResource),
    ListRules: bound(deps, listRules, NO_RESOURCE),
    DeleteRule: bound(deps, deleteRule, ruleResource),
    EnableRule: bound(deps, setState("ENABLED"), ruleResource),
    DisableRule: bound(deps, setState("DISABLED"), ruleResource),
  };
}
