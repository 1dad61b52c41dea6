import { ApiError } from "../../lib/api-error.js";
import { isPlainObject } from "../../lib/plain-object.js";
import type { EventTarget } from "../../stores/event-rules/index.js";
import type { OperationContext } from "../operation.js";
import {
  constraintError,
  NAME_SHAPE,
  optionalInteger,
  optionalList,
  optionalObject,
  optionalString,
  optionalStringMap,
  pageAfter,
  pageLimit,
  pageOf,
  requiredString,
} from "./events-input.js";
import {
  assertDefaultBus,
  bound,
  limitExceeded,
  namedResource,
  read,
  resourceArn,
  ruleNotFound,
  scopeOf,
  written,
  type EventsDependencies,
  type EventsOperation,
} from "./events-operation.js";
import { targetOutput } from "./target-output.js";

/** EventBridge's quota of targets per rule. */
const TARGETS_PER_RULE_MAX = 5;
/** The model's bound on a PutTargets `Targets` or RemoveTargets `Ids` list. */
const LIST_MAX = 100;
const API_DESTINATION_ARN = /^arn:aws:events:([a-z0-9-]+):(\d{12}):api-destination\/[.\-_A-Za-z0-9]+\/[-A-Za-z0-9]+$/;
const SNS_TOPIC_ARN = /^arn:aws:sns:[a-z0-9-]{1,32}:\d{12}:[A-Za-z0-9_-]{1,256}$/;
/** Target members for services Cairn does not deliver to: an entry carrying one is refused, not silently kept. */
const UNUSED_MEMBERS = [
  "KinesisParameters",
  "RunCommandParameters",
  "EcsParameters",
  "BatchParameters",
  "SqsParameters",
  "RedshiftDataParameters",
  "SageMakerPipelineParameters",
  "AppSyncParameters",
];

const ruleOfCall = namedResource("rule", "Rule");

interface FailedEntry {
  readonly TargetId: string;
  readonly ErrorCode: string;
  readonly ErrorMessage: string;
}

function listOf(input: Record<string, unknown>, member: string): unknown[] {
  const list = optionalList(input, member);
  if (list === undefined) throw constraintError(member, null, "Member must not be null");
  if (list.length < 1) throw constraintError(member, "[]", "Member must have length greater than or equal to 1");
  if (list.length > LIST_MAX) {
    throw constraintError(member, "…", `Member must have length less than or equal to ${LIST_MAX}`);
  }
  return list;
}

function jsonPath(input: Record<string, unknown>, member: string): string | undefined {
  const path = optionalString(input, member, { max: 256 });
  if (path !== undefined && !path.startsWith("$")) {
    throw new ApiError(
      "ValidationException",
      `${member.split(".").at(-1)} ${path.slice(0, 256)} is not a valid JSON path.`,
    );
  }
  return path;
}

function inputTransformerOf(target: Record<string, unknown>, at: string): EventTarget["inputTransformer"] {
  const transformer = optionalObject(target, "InputTransformer");
  if (transformer === undefined) return undefined;
  const inputTemplate = requiredString(transformer, `${at}.InputTransformer.InputTemplate`, { min: 1, max: 8192 });
  const inputPathsMap = optionalStringMap(transformer, `${at}.InputTransformer.InputPathsMap`, 100);
  for (const [key, path] of Object.entries(inputPathsMap ?? {})) {
    if (!/^[A-Za-z0-9_-]{1,256}$/.test(key)) {
      throw constraintError(
        `${at}.InputTransformer.InputPathsMap`,
        key,
        "Map keys must satisfy pattern [A-Za-z0-9\\_\\-]+",
      );
    }
    jsonPath({ [key]: path }, `${at}.InputTransformer.InputPathsMap.${key}`);
  }
  return { ...(inputPathsMap !== undefined ? { inputPathsMap } : {}), inputTemplate };
}

function retryPolicyOf(target: Record<string, unknown>, at: string): EventTarget["retryPolicy"] {
  const policy = optionalObject(target, "RetryPolicy");
  if (policy === undefined) return undefined;
  const maximumRetryAttempts = optionalInteger(policy, `${at}.RetryPolicy.MaximumRetryAttempts`, { min: 0, max: 185 });
  const maximumEventAgeInSeconds = optionalInteger(policy, `${at}.RetryPolicy.MaximumEventAgeInSeconds`, {
    min: 60,
    max: 86_400,
  });
  return {
    ...(maximumRetryAttempts !== undefined ? { maximumRetryAttempts } : {}),
    ...(maximumEventAgeInSeconds !== undefined ? { maximumEventAgeInSeconds } : {}),
  };
}

function httpParametersOf(target: Record<string, unknown>, at: string): EventTarget["httpParameters"] {
  const http = optionalObject(target, "HttpParameters");
  if (http === undefined) return undefined;
  const paths = optionalList(http, `${at}.HttpParameters.PathParameterValues`);
  if (paths !== undefined && !paths.every((item) => typeof item === "string" && item.trim() !== "")) {
    throw new ApiError("ValidationException", "HttpParameters.PathParameterValues must be non-blank strings.");
  }
  const headerParameters = optionalStringMap(http, `${at}.HttpParameters.HeaderParameters`, 100);
  const queryStringParameters = optionalStringMap(http, `${at}.HttpParameters.QueryStringParameters`, 100);
  return {
    ...(paths !== undefined ? { pathParameterValues: paths as string[] } : {}),
    ...(headerParameters !== undefined ? { headerParameters } : {}),
    ...(queryStringParameters !== undefined ? { queryStringParameters } : {}),
  };
}

/** One entry of `Targets`, checked as the model checks it (a bad entry fails the whole call, as AWS's request validation does). */
function targetOf(item: unknown, index: number): EventTarget {
  const at = `Targets.${index + 1}.member`;
  if (!isPlainObject(item)) throw new ApiError("SerializationException", `Member '${at}' must be an object.`);
  const id = requiredString(item, `${at}.Id`, NAME_SHAPE);
  const arn = requiredString(item, `${at}.Arn`, { min: 1, max: 1600 });
  const roleArn = optionalString(item, `${at}.RoleArn`, { min: 1, max: 1600 });
  const input = optionalString(item, `${at}.Input`, { max: 8192 });
  const inputPath = jsonPath(item, `${at}.InputPath`);
  const inputTransformer = inputTransformerOf(item, at);
  const retryPolicy = retryPolicyOf(item, at);
  const httpParameters = httpParametersOf(item, at);
  const deadLetterArn = optionalString(optionalObject(item, "DeadLetterConfig") ?? {}, `${at}.DeadLetterConfig.Arn`, {
    min: 1,
    max: 1600,
  });
  return {
    id,
    arn,
    ...(roleArn !== undefined ? { roleArn } : {}),
    ...(input !== undefined ? { input } : {}),
    ...(inputPath !== undefined ? { inputPath } : {}),
    ...(inputTransformer !== undefined ? { inputTransformer } : {}),
    ...(retryPolicy !== undefined ? { retryPolicy } : {}),
    ...(httpParameters !== undefined ? { httpParameters } : {}),
    ...(deadLetterArn !== undefined ? { deadLetterArn } : {}),
  };
}

/** Why Cairn cannot accept an entry, as the FailedEntries message; undefined when it can deliver to it. */
async function refusalOf(
  deps: EventsDependencies,
  raw: Record<string, unknown>,
  target: EventTarget,
  context: OperationContext,
): Promise<string | undefined> {
  const unused = UNUSED_MEMBERS.find((member) => raw[member] !== undefined && raw[member] !== null);
  if (unused !== undefined) return `Cairn does not use ${unused}: it delivers to API destinations and SNS topics only.`;
  const chosen = [target.input, target.inputPath, target.inputTransformer].filter((value) => value !== undefined);
  if (chosen.length > 1) return "Only one of Input, InputPath, or InputTransformer must be provided.";
  if (target.input !== undefined && !isJson(target.input)) return "Input is not valid JSON text.";
  if (SNS_TOPIC_ARN.test(target.arn)) return undefined;
  const destination = API_DESTINATION_ARN.exec(target.arn);
  if (destination === null) {
    return `Cairn delivers only to API destinations and SNS topics; the target ${target.arn.slice(0, 256)} is neither.`;
  }
  const [, region, account] = destination;
  if (
    account !== context.accountId ||
    region !== context.region ||
    (await deps.store.apiDestination(target.arn)) === undefined
  ) {
    return `The API destination ${target.arn} does not exist in this account and region.`;
  }
  return undefined;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

async function putTargets(deps: EventsDependencies, input: Record<string, unknown>, context: OperationContext) {
  const name = requiredString(input, "Rule", NAME_SHAPE);
  assertDefaultBus(input, scopeOf(context));
  const raw = listOf(input, "Targets");
  const targets = raw.map(targetOf);
  const ruleArn = resourceArn(scopeOf(context), "rule", name);
  if ((await deps.store.getRule(ruleArn)) === undefined) throw ruleNotFound(name);
  const accepted: EventTarget[] = [];
  const failed: FailedEntry[] = [];
  for (const [index, target] of targets.entries()) {
    const refusal = await refusalOf(deps, raw[index] as Record<string, unknown>, target, context);
    if (refusal === undefined) accepted.push(target);
    else failed.push({ TargetId: target.id, ErrorCode: "ValidationException", ErrorMessage: refusal });
  }
  if (accepted.length > 0) {
    const outcome = await deps.store.putTargets(ruleArn, accepted, TARGETS_PER_RULE_MAX);
    if (outcome === "limit") throw limitExceeded();
    if (outcome === "absent") throw ruleNotFound(name);
  }
  return written({ FailedEntryCount: failed.length, FailedEntries: failed });
}

async function listTargetsByRule(deps: EventsDependencies, input: Record<string, unknown>, context: OperationContext) {
  const name = requiredString(input, "Rule", NAME_SHAPE);
  assertDefaultBus(input, scopeOf(context));
  const limit = pageLimit(input);
  const rows = await deps.store.listTargets(resourceArn(scopeOf(context), "rule", name), pageAfter(input), limit + 1);
  if (rows === undefined) throw ruleNotFound(name);
  const page = pageOf(rows, limit, (target) => target.id);
  return read({ Targets: page.items.map(targetOutput), ...(page.next !== undefined ? { NextToken: page.next } : {}) });
}

async function removeTargets(deps: EventsDependencies, input: Record<string, unknown>, context: OperationContext) {
  const name = requiredString(input, "Rule", NAME_SHAPE);
  assertDefaultBus(input, scopeOf(context));
  const ids = listOf(input, "Ids").map((id, index) =>
    requiredString({ member: id }, `Ids.${index + 1}.member`, NAME_SHAPE),
  );
  const removed = await deps.store.removeTargets(resourceArn(scopeOf(context), "rule", name), ids);
  if (removed === undefined) throw ruleNotFound(name);
  return written({ FailedEntryCount: 0, FailedEntries: [] });
}

/** PutTargets, ListTargetsByRule, RemoveTargets: authorised on the rule. */
export function targetOperations(deps: EventsDependencies): Record<string, EventsOperation> {
  return {
    PutTargets: bound(deps, putTargets, ruleOfCall),
    ListTargetsByRule: bound(deps, listTargetsByRule, ruleOfCall),
    RemoveTargets: bound(deps, removeTargets, ruleOfCall),
  };
}
