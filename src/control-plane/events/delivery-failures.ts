import { ApiError } from "../../lib/api-error.js";
import type { StoredFailure } from "../../stores/rule-deliveries/index.js";
import type { OperationContext, OperationResult } from "../operation.js";
import { NAME_SHAPE, optionalString, pageAfter, pageLimit, pageOf } from "./events-input.js";
import {
  bound,
  read,
  resourceArn,
  scopeOf,
  type EventsDependencies,
  type EventsOperation,
} from "./events-operation.js";

/**
 * `ListRuleDeliveryFailures` (Cairn's own operation, `events:ListRuleDeliveryFailures`; `cairn
 * events failures` calls it): the events the caller's rules gave up delivering to a target, oldest
 * first, `Rule` narrowing them to one rule. EventBridge would have dropped these or sent them to a
 * dead-letter queue; the records themselves stay in the journal, named by `JournalSeq`.
 */
async function listRuleDeliveryFailures(
  deps: EventsDependencies,
  input: Record<string, unknown>,
  context: OperationContext,
): Promise<OperationResult> {
  if (deps.failures === undefined) throw new ApiError("ServiceUnavailableException", "Rule delivery is not running.");
  const rule = optionalString(input, "Rule", NAME_SHAPE);
  const limit = pageLimit(input);
  const after = pageAfter(input);
  const afterId = after === undefined ? undefined : Number(after);
  if (afterId !== undefined && !Number.isSafeInteger(afterId))
    throw new ApiError("ValidationException", "The nextToken is not valid.");
  const rows = await deps.failures.listFailures(context.accountId, {
    limit: limit + 1,
    ...(rule !== undefined ? { ruleArn: resourceArn(scopeOf(context), "rule", rule) } : {}),
    ...(afterId !== undefined ? { afterId } : {}),
  });
  const page = pageOf(rows, limit, (failure) => String(failure.id));
  return read({
    Failures: page.items.map(failureOutput),
    ...(page.next !== undefined ? { NextToken: page.next } : {}),
  });
}

function failureOutput(failure: StoredFailure): Record<string, unknown> {
  return {
    RuleArn: failure.ruleArn,
    TargetId: failure.targetId,
    TargetArn: failure.targetArn,
    EventId: failure.eventId,
    CloudTrailEventId: failure.recordEventId,
    ...(failure.journalSeq !== undefined ? { JournalSeq: failure.journalSeq } : {}),
    ...(failure.sigmaMatchId !== undefined ? { SigmaMatchId: failure.sigmaMatchId } : {}),
    Reason: failure.reason,
    Attempts: failure.attempts,
    ...(failure.lastHttpStatus !== undefined ? { LastHttpStatus: failure.lastHttpStatus } : {}),
    LastError: failure.lastError,
    FirstAttemptTime: failure.firstAttemptTime,
    LastAttemptTime: failure.lastAttemptTime,
    FailedTime: failure.failedTime,
  };
}

export function deliveryFailureOperations(deps: EventsDependencies): Record<string, EventsOperation> {
  return {
    ListRuleDeliveryFailures: bound(deps, listRuleDeliveryFailures, (input, scope) => {
      const rule = input["Rule"];
      return typeof rule === "string" && NAME_SHAPE.pattern!.test(rule) ? [resourceArn(scope, "rule", rule)] : ["*"];
    }),
  };
}
